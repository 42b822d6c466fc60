"""scripts/report.py on results that are no clean measurement: NaN and infinite values,
all-zero counters, no counters, no context, no time unit, every benchmark errored. It renders,
showing "–" for what it cannot show and saying in the findings what is missing, or exits 2 with
one line; never a traceback, never a half-written report. And the other readers of results
files: history.py, merge_runs.py, spread.py."""
import copy
import json
import math
import re
import subprocess

import pytest

from conftest import FIXTURES, ROOT

from iobench_tools import results
from iobench_tools import history
from iobench_tools.commands import report
from iobench_tools.report import charts, document, findings, rows

COUNTERS = results.COUNTERS + rows.EXTRA_METRICS


def quick() -> dict:
    return json.loads((FIXTURES / "quick_results.json").read_text())


def repetitions(doc: dict) -> list[dict]:
    return [b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"]


def set_all(value, keys=tuple(COUNTERS) + ("real_time",)):
    def change(doc):
        for b in repetitions(doc):
            for k in keys:
                if k in b:
                    b[k] = value
    return change


def drop(*keys):
    def change(doc):
        for b in repetitions(doc):
            for k in keys:
                b.pop(k, None)
    return change


VARIANTS = {
    "nan": (set_all(math.nan), "no finite number"),
    "inf": (set_all(math.inf), "no finite number"),
    "minus_inf": (set_all(-math.inf), "no finite number"),
    "strings": (set_all("fast"), "no finite number"),
    "all_zero": (set_all(0.0), "of 0"),
    "zero_counters": (set_all(0.0, COUNTERS), "of 0"),
    "no_counters": (drop(*COUNTERS), "none of the counters"),
    "context_null": (lambda d: d.update(context=None), "no context"),
    "context_list": (lambda d: d.update(context=[1, 2]), "no context"),
    "no_time_unit": (drop("time_unit"), "no readable batch time"),
    "unknown_time_unit": (set_all("fortnight", ("time_unit",)), "no readable batch time"),
}


def write(tmp_path, doc, name="results.json"):
    f = tmp_path / name
    f.write_text(json.dumps(doc))
    return f


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_broken_values_render_with_dashes_and_say_what_is_missing(tmp_path, capsys, variant):
    change, needle = VARIANTS[variant]
    doc = quick()
    change(doc)
    out = tmp_path / "out"
    assert report.guarded([str(write(tmp_path, doc)), "--out", str(out)]) == 0, \
        capsys.readouterr().err
    md = (out / "report.md").read_text()
    assert (out / "index.html").read_text().endswith("</html>")
    gaps = next(line for line in md.splitlines() if line.startswith("- Incomplete data:"))
    assert needle in gaps
    cells = [c.strip() for line in md.splitlines() if line.startswith("|")
             for c in line.split("|")]
    assert not any(re.fullmatch(r"-?(nan|inf)( s| ms)?", c) for c in cells), variant
    assert not list(out.glob(".*")), "no staging folder or temporary page left behind"


def test_a_claim_without_a_makespan_is_not_said_to_hold(tmp_path):
    doc = quick()
    drop("time_unit")(doc)
    claims = findings.claims(rows.load(write(tmp_path, doc)))
    assert claims and all(c.verdict.startswith("not measured for") for c in claims)


def test_findings_do_not_divide_by_zero(tmp_path):
    doc = quick()
    set_all(0.0)(doc)
    run = rows.load(write(tmp_path, doc))
    kinds = [f.kind for f in findings.findings(run)]
    assert kinds[0] == "gaps"
    assert findings.gap(run) is None, "no ceiling to divide by"
    assert charts.chart_headline(run, tmp_path) is None, "nothing to draw on log axes"


def test_every_benchmark_errored_exits_2_with_one_line(tmp_path):
    doc = quick()
    for b in repetitions(doc):
        b.update(error_occurred=True, error_message="mock_server did not start")
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "report.py"),
                        str(write(tmp_path, doc)), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "every benchmark reported an error" in lines[0], r.stderr
    assert "mock_server did not start" in lines[0]
    assert not (tmp_path / "out" / "index.html").exists()


def fails(*args, **kwargs):
    raise RuntimeError("disk on fire")


@pytest.mark.parametrize("where", ["chart", "page"])
def test_a_failure_half_way_leaves_no_half_written_report(tmp_path, capsys, monkeypatch, where):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("the previous report")
    if where == "chart":
        monkeypatch.setattr(charts, "CHARTS", charts.CHARTS[:2] + [fails])
    else:
        monkeypatch.setattr(document, "to_html", fails)
    rc = report.guarded([str(FIXTURES / "quick_results.json"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "disk on fire" in err and "Traceback" not in err
    assert (out / "report.md").read_text() == "the previous report"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"], "no chart, no staging folder"


def test_pages_are_replaced_whole(tmp_path):
    target = tmp_path / "index.html"
    target.write_text("old")
    document.write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


# --- results.py and its other readers --------------------------------------------------------

def test_the_reader_reads_what_is_known_and_nothing_it_does_not():
    assert results.makespan_ms({"real_time": 2.0, "time_unit": "ms"}) == 2.0
    assert results.makespan_ms({"real_time": 2.0}) is None, "no unit: no guess"
    assert results.makespan_ms({"real_time": 2.0, "time_unit": "fortnight"}) is None
    assert results.makespan_ms({"real_time": math.nan, "time_unit": "ms"}) is None
    assert results.nonfinite({"a": math.nan, "b": 1.0, "c": -math.inf, "d": "x"}) == ["a", "c"]
    doc = quick()
    repetitions(doc)[0].update(error_occurred=True, error_message="boom")
    name = repetitions(doc)[0]["name"]
    assert results.errored(doc, FIXTURES) == {name: "boom"}
    assert name not in {n for n, _ in results.runs(doc, FIXTURES)}


def test_a_file_that_is_not_text_is_one_line(tmp_path, capsys):
    f = tmp_path / "binary.json"
    f.write_bytes(b"\xff\xfe{}")
    out = tmp_path / "out"
    assert report.guarded([str(f), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"report.py: {f} is not text (not JSON): invalid start byte at byte 0\n"
    with pytest.raises(results.ResultsError, match="is not text"):
        results.read(f)


def py(*args):
    return subprocess.run(["/usr/bin/python3", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def ci() -> dict:
    return json.loads((FIXTURES / "ci_run.json").read_text())


def test_history_records_a_run_without_context_or_with_nan_values(tmp_path):
    doc = ci()
    doc["context"] = None
    repetitions(doc)[0]["p99_ms"] = math.nan
    r = py(ROOT / "scripts" / "history.py", "append", write(tmp_path, doc), "--db",
           tmp_path / "h.db")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("\n") == 1 and "1 value(s) that are not finite" in r.stderr
    (run,) = history.runs(tmp_path / "h.db")
    name = repetitions(doc)[0]["name"]
    assert len(run["data"][name]["p99_ms"]) == len(run["data"][name]["p50_ms"]) - 1


def test_history_refuses_a_run_with_nothing_to_record(tmp_path):
    doc = ci()
    for b in repetitions(doc):
        b["error_occurred"] = True
    r = py(ROOT / "scripts" / "history.py", "append", write(tmp_path, doc), "--db",
           tmp_path / "h.db")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "every benchmark reported an error" in r.stderr


def test_history_into_an_unwritable_place_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    r = py(ROOT / "scripts" / "history.py", "append", FIXTURES / "ci_run.json", "--db",
           tmp_path / "file" / "h.db")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_merge_runs_on_odd_context_and_an_unwritable_output(tmp_path):
    doc = ci()
    doc["context"] = [1, 2]
    merge = ROOT / "scripts" / "merge_runs.py"
    out = tmp_path / "merged.json"
    r = py(merge, out, write(tmp_path, doc), FIXTURES / "ci_run.json")
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["context"]["merged_runs"] == 2
    r = py(merge, out, write(tmp_path, doc), FIXTURES / "ci_run.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.json", "results.json"]
    r = py(merge, tmp_path / "no" / "such" / "dir.json", FIXTURES / "ci_run.json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot write" in r.stderr
    r = py(merge, out, FIXTURES / "foreign.json")
    assert r.returncode == 2 and "no iobench benchmarks" in r.stderr


def test_spread_on_nan_values_is_one_line(tmp_path):
    doc = ci()
    repetitions(doc)[0]["efficiency"] = math.nan
    f = write(tmp_path, doc)
    r = py(ROOT / "scripts" / "spread.py", f, FIXTURES / "ci_run.json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "efficiency is NaN" in r.stderr
    r = py(ROOT / "scripts" / "spread.py", "--bogus")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_every_consumer_survives_context_null(tmp_path):
    doc = copy.deepcopy(ci())
    doc["context"] = None
    f = write(tmp_path, doc)
    for args in ([ROOT / "scripts" / "compare.py", f, f],
                 [ROOT / "scripts" / "spread.py", f, f],
                 [ROOT / "scripts" / "history.py", "append", f, "--db", tmp_path / "h.db"],
                 [ROOT / "scripts" / "merge_runs.py", tmp_path / "m.json", f, f]):
        r = py(*args)
        assert r.returncode == 0, (args, r.stderr)


def non_ascii_model(doc: dict) -> dict:
    doc["context"]["models"] = json.dumps([{"name": "пример" * 20, "kind": "model"}])
    return doc


def repeated_repetition(doc: dict) -> dict:
    first = repetitions(doc)[0]
    doc["benchmarks"].append(dict(first, real_time=first["real_time"] * 2))
    return doc


@pytest.mark.parametrize("change, needle", [
    (non_ascii_model, "a model's name is ASCII letters, digits, '_', '.' and '-'"),
    (repeated_repetition, "has repetition 1 twice"),
])
def test_every_reader_says_the_rule_in_one_line(tmp_path, change, needle):
    """A model name beyond the pattern gets the pattern in words (not a JSON excerpt cut at 80
    characters); one repetition twice is refused by name, not averaged in."""
    f = write(tmp_path, change(ci()))
    for args in ([ROOT / "scripts" / "compare.py", f, f],
                 [ROOT / "scripts" / "report.py", f, "--out", tmp_path / "report"],
                 [ROOT / "scripts" / "history.py", "append", f, "--db", tmp_path / "h.db"],
                 [ROOT / "scripts" / "merge_runs.py", tmp_path / "m.json", f, f]):
        r = py(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        (line,) = r.stderr.strip().splitlines()
        assert needle in line and "\\u" not in line, (args, line)
