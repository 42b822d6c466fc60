"""--reference NAME=COMMAND: a client written from docs/reference_protocol.md alone runs as a row
of the suite, and a client that breaks the contract (claims what it never fetched, hides its CPU,
loses outcomes, speaks another version) has its rows errored with one line saying why."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT

CLIENT = ROOT / "tests" / "python" / "clients" / "docs_client.py"
PYTHON = "/usr/bin/python3"


def iobench(bins, tmp_path, *args, timeout=180):
    out = tmp_path / "results.json"
    r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", *args,
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       capture_output=True, text=True, timeout=timeout)
    doc = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    return r, doc


def rows(doc, impl):
    return [b for b in doc["benchmarks"] if b["name"].startswith(f"fetch/{impl}/")]


def test_a_client_written_from_the_docs_is_a_row_like_any_other(bins, tmp_path):
    r, doc = iobench(bins, tmp_path, "--reference", f"mine={PYTHON} {CLIENT}",
                     "--impls", "mine,coroutine")
    assert r.returncode == 0, r.stderr
    mine = rows(doc, "mine")
    assert len(mine) == len(rows(doc, "coroutine")) == 2
    for b in mine:
        assert not b.get("error_occurred"), b.get("error_message")
        assert b["errors"] == 0 and b["req_per_s"] > 0
        # The kernel counts in 10 ms ticks: a short row may have seen none.
        assert b["kernel_cpu_us_per_req"] >= 0 and b["peak_rss_mib"] > 0
    models = {m["name"]: m for m in json.loads(doc["context"]["models"])}
    assert models["mine"]["kind"] == "reference"
    assert str(CLIENT) in models["mine"]["summary"]


@pytest.mark.parametrize("lie,why", [
    ("claims", "complete responses, but the server answered"),
    ("cpu", "of CPU for its batches, where the kernel counted"),
    ("lose", "outcomes for"),
    ("version", "speaks protocol 2, iobench speaks 1"),
])
def test_a_client_that_breaks_the_contract_is_caught(bins, tmp_path, lie, why):
    r, doc = iobench(bins, tmp_path, "--reference", f"liar={PYTHON} {CLIENT} --lie {lie}",
                     "--impls", "liar")
    assert r.returncode == 1, "an errored row makes the run exit 1"
    liar = rows(doc, "liar")
    assert liar and all(b.get("error_occurred") for b in liar), liar
    assert all(why in b["error_message"] and "\n" not in b["error_message"] for b in liar), \
        [b["error_message"] for b in liar]


@pytest.mark.parametrize("spec,why", [
    ("mine", "expected NAME=COMMAND"),
    ("=x", "is not a name"),
    ("a b=x", "is not a name"),
    ("coroutine=x", "is taken"),
    ("py_asyncio=x", "is taken"),
    ("mine=", "has no command"),
    ("mine=a | b", "cannot split the command"),
    ("mine=a $(b)", "cannot split the command"),
])
def test_a_bad_reference_is_a_usage_error_on_one_line(bins, spec, why):
    r = subprocess.run([str(bins / "iobench"), "--reference", spec, "--benchmark_list_tests"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0], r.stderr


def test_a_missing_program_is_skipped_with_one_line(bins, tmp_path):
    r, _ = iobench(bins, tmp_path, "--reference", "gone=/nonexistent/client --x",
                   "--impls", "gone,coroutine")
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if "gone skipped" in line]
    assert len(said) == 1 and "/nonexistent/client" in said[0], r.stderr


def test_help_and_listing_know_an_added_reference(bins):
    r = subprocess.run([str(bins / "iobench"), "--help"], capture_output=True, text=True)
    assert "--reference NAME=COMMAND" in r.stdout
    r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", "--reference",
                        f"mine={sys.executable} -c pass", "--impls", "mine",
                        "--benchmark_list_tests"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() and all("/mine/" in n for n in r.stdout.splitlines())


def manifest_dir(tmp_path, text, name="mine.ref"):
    d = tmp_path / "refs"
    d.mkdir()
    (d / name).write_text(text)
    (d / "docs_client.py").write_text(CLIENT.read_text())
    return d


def test_a_manifest_is_a_reference(bins, tmp_path):
    d = manifest_dir(tmp_path, "# mine\nname = mine\nsummary = a client from the docs\n"
                               "runtime = python\nprogram = docs_client.py\nlibrary = http.client\n"
                               "mechanism = thread_per_request  # a worker thread each\n"
                               "interface = blocking\n")
    env = {"IOBENCH_REFERENCE_DIR": str(d), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([str(bins / "iobench"), "--help"], capture_output=True, text=True, env=env)
    listed = r.stdout[r.stdout.index("and the references"):r.stdout.index("\n  --reference")]
    assert "mine" in listed and "a client from the docs" in listed and "py_asyncio" not in listed
    out = tmp_path / "results.json"
    r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", "--impls", "mine",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert len(rows(doc, "mine")) == 2
    assert not any(b.get("error_occurred") for b in doc["benchmarks"])
    mine = next(m for m in json.loads(doc["context"]["models"]) if m["name"] == "mine")
    assert (mine["runtime"], mine["mechanism"]) == ("python", "thread_per_request")
    assert mine["https"] is False, "a manifest says https = true, or its client gets no /tls:1 row"


@pytest.mark.parametrize("text,why", [
    ("name = x\nfoo = 1\n", "bad.ref:2: unknown key 'foo'"),
    ("name = x\nsummary = s\nruntime = ruby\nprogram = p\nlibrary = l\nmechanism = event_loop\n"
     "interface = epoll\n", "runtime 'ruby' is not one of"),
    ("name = a b\n", "no summary"),
    ("just words\n", "bad.ref:1: expected key = value"),
    ("name = x\nsummary = s\nruntime = python\nprogram = p\nlibrary = l\n"
     "mechanism = event_loop\ninterface = epoll\nhttps = yes\n", "https is true or false"),
])
def test_a_bad_manifest_is_named_on_one_line(bins, tmp_path, text, why):
    d = manifest_dir(tmp_path, text, "bad.ref")
    r = subprocess.run([str(bins / "iobench"), "--benchmark_list_tests"], capture_output=True,
                       text=True, timeout=30, env={"IOBENCH_REFERENCE_DIR": str(d)})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0], r.stderr


@pytest.mark.parametrize("command,why", [
    ("/bin/sleep 100", "did not answer the empty first batch (its start-up) within 2 s"),
    ("/bin/true", "the reference child ended without an answer; no stderr"),
])
def test_a_client_that_never_answers_fails_the_row_and_never_hangs_the_run(bins, tmp_path,
                                                                           command, why):
    out = tmp_path / "results.json"
    r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", "--reference",
                        f"mute={command}", "--impls", "mute", f"--benchmark_out={out}",
                        "--benchmark_out_format=json"], capture_output=True, text=True,
                       timeout=120, env={"IOBENCH_CHILD_START_S": "2", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1, r.stderr
    mute = rows(json.loads(out.read_text()), "mute")
    assert len(mute) == 2 and all(why in b["error_message"] for b in mute), mute
