"""docs/results.md is the contract: every table in it matches what the binaries really write, both
ways. A smoke run, an open-loop step and iobench-fetch in both modes are read, and each name they
write must be listed under its heading, and each name listed must be written."""
import json
import re
import subprocess

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "results.md"

# Google Benchmark's own fields of a row, which the page names in prose rather than in a table
# (its `threads` too, but iobench's counter of that name overrides it, so the tables list it).
GBENCH_ROW = {"name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit",
              "repetitions", "repetition_index", "family_index", "per_family_instance_index",
              "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
              "label"}
# Google Benchmark's own context keys.
GBENCH_CONTEXT = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                  "cpu_scaling_enabled", "caches", "load_avg", "library_build_type",
                  "library_version", "json_schema_version"}  # the last two from 1.8 on
# Context keys written only in some runs (the page says when).
OPTIONAL_CONTEXT = {"pinning"}
# Counters of a batch row written for some impls only (the page says which): a reference child's.
CHILD_COUNTERS = {"kernel_cpu_us_per_req"}
# Counters of a batch or wrk row over https (/tls:1) only; test_suite_tls.py checks their values.
TLS_COUNTERS = {"tls_handshakes_per_req", "tls_resumed_per_req"}


def documented(heading: str) -> list[str]:
    """The backticked names in the first column of the table under `## heading`."""
    text = DOC.read_text()
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/results.md has no section '## {heading}'"
    names = re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M)
    assert names, f"no table under '## {heading}'"
    return names


def table_after(heading: str, marker: str) -> list[str]:
    """The names of the table that follows the line containing `marker` in section `heading`."""
    text = DOC.read_text()
    section = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S).group(1)
    after = section[section.index(marker):]
    table = re.search(r"((?:^\|.*\n)+)", after, re.M).group(1)
    return re.findall(r"^\| `([^`]+)` \|", table, re.M)


def run(cmd, timeout=600):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    return r


@pytest.fixture(scope="module")
def results(bins, tmp_path_factory):
    """A smoke run (batch rows of every model and reference, and wrk) and one open-loop step."""
    tmp = tmp_path_factory.mktemp("contract")
    docs = []
    for name, args in (("smoke", ["--suite", "smoke"]),
                       ("open", ["--suite", "quick", "--impls", "coroutine",
                                 "--benchmark_filter=^open/coroutine/"])):
        out = tmp / f"{name}.json"
        r = run([bins / "iobench", *args, f"--benchmark_out={out}",
                 "--benchmark_out_format=json"])
        assert r.returncode == 0, r.stderr[-2000:]
        docs.append(json.loads(out.read_text()))
    return docs


def rows(docs, predicate):
    return [b for d in docs for b in d["benchmarks"]
            if b.get("run_type") == "iteration" and predicate(b["run_name"])]


def assert_same(written: set, listed: list, what: str):
    assert len(set(listed)) == len(listed), f"{what}: listed twice: {listed}"
    assert written - set(listed) == set(), f"{what}: written but not in docs/results.md"
    assert set(listed) - written == set(), f"{what}: in docs/results.md but never written"


@pytest.mark.parametrize("heading,kind", [
    ("Counters of a batch row", "batch"),
    ("Counters of a wrk row", "wrk"),
    ("Counters of an open-loop row", "open"),
])
def test_counters_match_the_page(results, heading, kind):
    pick = {"batch": lambda n: n.startswith("fetch/") and not n.startswith("fetch/wrk/"),
            "wrk": lambda n: n.startswith("fetch/wrk/"),
            "open": lambda n: n.startswith("open/")}[kind]
    found = rows(results, pick)
    assert found, f"the runs wrote no {kind} row"
    listed = documented(heading)
    models = json.loads(results[0]["context"]["models"])
    children = {m["name"] for m in models if m["kind"] == "reference" and m["runtime"] != "wrk"}
    for b in found:
        written = set(b) - GBENCH_ROW
        impl = b["run_name"].split("/")[1]
        if impl not in children:
            assert not written & CHILD_COUNTERS, b["run_name"]
            written |= CHILD_COUNTERS & set(listed)
        if not b["run_name"].endswith("/tls:1"):
            assert not written & TLS_COUNTERS, b["run_name"]
            written |= TLS_COUNTERS & set(listed)
        assert_same(written, listed, b["run_name"])


def test_benchmark_names_match_the_page(results):
    patterns = documented("Benchmark names")
    regexes = [re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", re.escape(p).replace(r"\<", "<")
                                       .replace(r"\>", ">")) + "$") for p in patterns]
    for b in rows(results, lambda n: True):
        assert any(r.match(b["run_name"]) for r in regexes), b["run_name"]


def test_context_matches_the_page(results):
    listed = documented("Context keys")
    for d in results:
        written = set(d["context"]) - GBENCH_CONTEXT
        assert written - set(listed) == set(), "context keys written but not documented"
        assert set(listed) - OPTIONAL_CONTEXT - written == set(), "documented, never written"


def test_models_fields_match_the_page(results):
    listed = documented("Fields of a models entry")
    for entry in json.loads(results[0]["context"]["models"]):
        assert_same(set(entry), listed, entry["name"])


def test_iobench_fetch_json_matches_the_page(bins, mock_server):
    server = mock_server()
    closed = run([bins / "iobench-fetch", "-n", "3", "-c", "2", "--json", server.url + "/x"])
    assert closed.returncode == 0, closed.stderr
    assert_same(set(json.loads(closed.stdout)),
                table_after("iobench-fetch --json", "A batch (closed loop)"), "batch JSON")
    open_loop = run([bins / "iobench-fetch", "--rate", "50", "--duration", "200ms", "--json",
                     server.url + "/x"])
    assert open_loop.returncode == 0, open_loop.stderr
    assert_same(set(json.loads(open_loop.stdout)),
                table_after("iobench-fetch --json", "An open-loop run"), "open-loop JSON")
