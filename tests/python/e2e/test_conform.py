"""scripts/conform.py: the conformance check any client can run. A client written from the docs
alone passes; the references that keep the error table pass; one that parts from it (Node's
fetch on a cut chunked body) and one that lies fail, naming what they broke; a client that
cannot be driven is a one-line error, exit 2."""
import subprocess

import pytest

from conftest import ROOT

CONFORM = ROOT / "scripts" / "conform.py"
CLIENT = ROOT / "tests" / "python" / "clients" / "docs_client.py"
PY = "/usr/bin/python3"


def conform(bins, *command, flags=()):
    return subprocess.run([PY, str(CONFORM), "--bin", str(bins), *flags, "--", *command],
                          capture_output=True, text=True, timeout=120)


def test_a_client_written_from_the_docs_passes(bins):
    r = conform(bins, PY, str(CLIENT))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("PASS") == 8 and "8 of 8 checks passed" in r.stdout


@pytest.mark.parametrize("program,flags", [("py_threads.py", ()), ("py_asyncio.py", ()),
                                           ("py_sequential.py", ("--one-at-a-time",))])
def test_the_python_references_pass(bins, program, flags):
    r = conform(bins, PY, str(ROOT / "bench" / "reference" / program), flags=flags)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_known_divergence_is_named(bins):
    r = conform(bins, "/usr/bin/node", str(ROOT / "bench" / "reference" / "node_fetch.mjs"))
    if "cannot start" in r.stderr:
        pytest.skip("no Node.js here")
    assert r.returncode == 1
    failed = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith("FAIL  error-kinds: ")
    assert "fail=truncate&bytes=1000&chunked=1: none" in failed[0], failed


def test_a_liar_fails(bins):
    r = conform(bins, PY, str(CLIENT), "--lie", "claims")
    assert r.returncode == 1
    assert "FAIL  order-bodies" in r.stdout and "FAIL  error-kinds" in r.stdout
    assert "FAIL  concurrency: C = 6: the server saw 0 requests in flight" in r.stdout


@pytest.mark.parametrize("command,why", [(["/nonexistent/client"], "cannot start"),
                                         (["/bin/true"], "ended without an answer"),
                                         ([PY, "-c", "import time; print('hello', flush=True);"
                                           " time.sleep(5)"], "not JSON")])
def test_a_client_that_cannot_be_driven_is_one_line(bins, command, why):
    r = conform(bins, *command)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and why in r.stderr, r.stderr


def test_no_command_is_a_usage_error(bins):
    r = subprocess.run([PY, str(CONFORM), "--bin", str(bins)], capture_output=True, text=True)
    assert r.returncode == 2 and "no COMMAND" in r.stderr
