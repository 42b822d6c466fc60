"""scripts/ab.sh end to end, in a temporary clone: a revision against itself passes; against a
copy with a deliberate slowdown in one fetcher it fails, names the benchmark and says the
regression was confirmed. Both revisions are really built (ccache makes the second build of the
same sources cheap). Skipped under sanitizers: the gate judges timings."""
import os
import re
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(os.environ.get("IOBENCH_SANITIZED") == "1",
                                reason="timing gate: not meaningful under ASan/UBSan")

SLOWED = "fetch/coroutine/requests:200/delay_ms:50/concurrency:25/bytes:0"
# Only the keep-alive latency-bound point of one model: seconds per round instead of a minute.
NARROW = ["--impls", "coroutine", "--rounds", "1", "--",
          "--benchmark_filter=delay_ms:50/concurrency:25/bytes:0/iterations"]


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=iobench-test",
                           "-c", "user.email=test@iobench.invalid", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("ab") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    base = git(repo, "rev-parse", "HEAD")
    # The deliberate slowdown: every coroutine request first blocks the event loop for 3 ms, so
    # the loop can start at most 333 requests per second where the batch needs 500 (25 every
    # 50 ms): 200 requests take ~600 ms instead of the ideal 400 (smaller sleeps are absorbed
    # once the requests drift apart in time).
    src = repo / "impls" / "src" / "coroutine.cpp"
    text = src.read_text()
    anchor = "co_await fetch_one("
    assert anchor in text, "the slowdown's anchor moved: update this test"
    text = text.replace(anchor, "std::this_thread::sleep_for(std::chrono::milliseconds(3));\n"
                        "      " + anchor, 1)
    src.write_text("#include <thread>\n" + text)
    git(repo, "commit", "--quiet", "-am", "a deliberate slowdown of the coroutine fetcher")
    return repo, base, git(repo, "rev-parse", "HEAD")


def ab(repo, *args):
    return subprocess.run([str(repo / "scripts" / "ab.sh"), *args], capture_output=True,
                          text=True, timeout=1200)


def test_a_slowed_fetcher_fails_and_is_named(repo, tmp_path):
    repo, base, slowed = repo
    r = ab(repo, base, slowed, "--out", str(tmp_path / "out"), *NARROW)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(rf"REGRESSION {re.escape(SLOWED)} \w+: .*confirmed", r.stderr), r.stderr
    assert "confirming round" in r.stderr
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.startswith("**iobench: FAIL**") and SLOWED in summary.splitlines()[0]
    assert (tmp_path / "out" / "report" / "index.html").exists()


def test_a_revision_against_itself_passes(repo, tmp_path):
    repo, base, _ = repo
    summary = tmp_path / "summary.md"
    r = ab(repo, base, base, "--out", str(tmp_path / "out"), "--summary", str(summary), *NARROW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert summary.read_text().startswith("**iobench: PASS**")
    assert (repo / "build" / "ab" / base / "built").exists(), "built once, cached by commit"


@pytest.mark.parametrize("args, needle", [
    ([], "missing BASE_REF"),
    (["no-such-ref-xyz"], "is not a commit"),
    (["HEAD", "--rounds", "0"], "--rounds must be a positive integer"),
    (["HEAD", "--bogus"], "unknown option"),
])
def test_bad_input_exits_2_before_building(args, needle):
    r = subprocess.run([str(ROOT / "scripts" / "ab.sh"), *args], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert needle in r.stderr
