#!/usr/bin/python3
"""Judge an iobench run against a baseline: the CI regression gate.

    scripts/compare.py BASELINE.json CURRENT.json [--alpha A] [--threshold METRIC=FRACTION]...
                       [--thresholds FILE] [--format markdown|json|github] [--allow-other-machine]
                       [--allow-missing] [--confirm BASELINE2 CURRENT2]

Correctness is judged before speed:
  - a benchmark whose requests failed (the `errors` counter) in this run where the baseline had
    no failed request fails the gate, whatever its timings (failed requests are fast: a broken
    I/O path looks like a speed-up), and its timings are not judged;
  - a benchmark that reported an error (Google Benchmark's error_occurred), or that is in the
    baseline but not in this run, fails the gate unless --allow-missing (then it is listed).
Then benchmarks are matched by name, and a metric regresses only when both hold:
  - a one-sided Mann-Whitney U test over the repetitions says the current run is worse
    (p < alpha), and
  - the relative change of the medians is worse than the metric's threshold.
Exit 0: pass. Exit 1: regressions or failures (each named on stderr). Exit 2: bad input, with one
line on stderr: an unreadable file, NaN or infinite values, an efficiency above 1 (beyond
measurement slack) in a repetition without failed requests, fewer than MIN_REPETITIONS
repetitions on a side, a malformed threshold; or the two files come from different machines (see
fingerprint.py; --allow-other-machine judges anyway and labels the output). A markdown table goes
to stdout (--format json: JSON; --format github: a one-line verdict, then the table of what moved,
for a CI job summary). Benchmarks new in this run are listed.
Thresholds and alpha come from the flags, else from thresholds.json next to the baseline, else
from the defaults below.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fingerprint  # noqa: E402  (same folder: which machine a file is from)
import gbench  # noqa: E402  (same folder: reading results files)
from mannwhitney import mann_whitney_u  # noqa: E402  (same folder: the test itself)

NAME_RE = gbench.NAME_RE

# Which way is better, the default threshold (relative change of the medians), and which
# benchmarks a metric is judged on: "delayed" (delay > 0: latency-bound, stable run to run) or
# "zero" (delay 0: CPU-bound, noisier on a shared machine). reports/baseline/README.md records
# the spread measured on this machine these come from.
METRICS = {
    "efficiency": ("higher", 0.06, "delayed"),
    "speedup_vs_sequential": ("higher", 0.08, "delayed"),
    "makespan_ms": ("lower", 0.08, "delayed"),
    "p50_ms": ("lower", 0.08, "delayed"),
    "p99_ms": ("lower", 0.20, "delayed"),
    "req_per_s": ("higher", 0.30, "zero"),
    "cpu_us_per_req": ("lower", 0.30, "zero"),
}
DERIVED = {"makespan_ms", "speedup_vs_sequential"}  # computed here, not counters in the file
# The counters read from each repetition: the gate's, and the failed requests.
COUNTED = [m for m in METRICS if m not in DERIVED] + ["errors"]
DEFAULT_ALPHA = 0.05
MIN_REPETITIONS = 4  # below this even a perfect separation cannot reach p < 0.05 one-sided
# Efficiency is ideal / measured: above 1 the batch beat the ideal, which only failed requests
# (fast) can do. This much above 1 is left to timer and rounding slack.
EFFICIENCY_SLACK = 1.02
NOT_JUDGED = "not judged (requests failed)"


class InputError(Exception):
    pass


class Samples(dict):
    """name -> metric -> samples (one per repetition), as load() reads a results file. Beside the
    metrics each benchmark has "errors" (failed requests, per repetition) and "requests" (requests
    per repetition, None where unknown). `errored` maps each benchmark with a repetition that
    reported an error (Google Benchmark's error_occurred) to its message; those have no samples."""

    def __init__(self, *args, errored: dict[str, str] | None = None):
        super().__init__(*args)
        self.errored = errored or {}


# --- loading --------------------------------------------------------------------------------

class _Problems:
    """What makes a results file unusable, kept by kind; the first of the most serious kind is
    the one line a user sees."""
    ORDER = ["nonfinite", "value", "time", "partial", "efficiency"]

    def __init__(self, path: Path):
        self.path = path
        self.found: dict[str, list[str]] = {}

    def add(self, kind: str, message: str) -> None:
        self.found.setdefault(kind, []).append(message)

    def raise_first(self) -> None:
        for kind in self.ORDER:
            if kind in self.found:
                first, more = self.found[kind][0], len(self.found[kind]) - 1
                raise InputError(f"{self.path}: {first}"
                                 + (f" (and {more} more like it)" if more else ""))


def _number_text(v) -> str:
    """A value from a results file as JSON writes it (NaN, "fast", null)."""
    try:
        return json.dumps(v)
    except (TypeError, ValueError):
        return repr(v)


def _check_repetition(name: str, rep: int, b: dict, problems: _Problems) -> None:
    """What one repetition's entry cannot be: NaN or infinite, a counter that is no number or
    below 0, no batch time, an efficiency no working batch reaches."""
    where = f"{name}: repetition {rep}"
    for key in gbench.nonfinite(b):
        problems.add("nonfinite", f"{where}: {key} is {_number_text(b[key])}, not a measurement")
    for key in COUNTED + ["real_time"]:
        v = b.get(key)
        if key not in b or (gbench.is_number(v) and not math.isfinite(v)):
            continue
        if not gbench.is_number(v) or v < 0:
            problems.add("value", f"{where}: {key} is {_number_text(v)}, not a count or a time")
    rt = b.get("real_time")
    if "real_time" not in b:
        problems.add("time", f"{where}: no real_time, so no batch time")
    elif gbench.is_number(rt) and math.isfinite(rt) and gbench.ms_per_unit(b) is None:
        problems.add("time", f"{where}: time_unit {_number_text(b.get('time_unit'))} is not one "
                     f"of {', '.join(gbench.MS_PER_UNIT)}, so its batch time cannot be read")
    eff, errors = b.get("efficiency"), b.get("errors", 0)
    if gbench.is_number(eff) and math.isfinite(eff) and eff > EFFICIENCY_SLACK \
            and gbench.is_number(errors) and errors == 0:
        problems.add("efficiency", f"{where}: efficiency {eff:.3g} with no failed request: "
                     "efficiency is ideal / measured and cannot exceed 1 (beyond "
                     f"{EFFICIENCY_SLACK} of measurement slack), so the measurement is broken")


def load(path: Path, allow_empty: bool = False) -> Samples:
    """The samples of a results file, checked (InputError, one line, on anything that cannot be
    a measurement). allow_empty: a file with no iobench benchmark (an empty file, as a run whose
    filter matched nothing writes) gives no samples instead of an error."""
    try:
        doc = gbench.read(path)
        reps = list(gbench.entries(doc, path))
        base = gbench.baseline(gbench.models(doc))
    except gbench.NoBenchmarks as e:
        if allow_empty:
            return Samples()
        raise InputError(str(e)) from e
    except gbench.ResultsError as e:
        raise InputError(str(e)) from e
    out = Samples(errored={})
    problems = _Problems(path)
    count: dict[str, int] = {}
    for name, b in reps:
        if b.get("error_occurred"):
            out.errored.setdefault(name, str(b.get("error_message") or "no message"))
            continue
        rep = count[name] = count.get(name, 0) + 1
        _check_repetition(name, rep, b, problems)
        samples = out.setdefault(name, {})
        makespan = gbench.makespan_ms(b)
        if makespan is not None:
            samples.setdefault("makespan_ms", []).append(makespan)
        for key in COUNTED:
            if gbench.is_number(b.get(key)):
                samples.setdefault(key, []).append(float(b[key]))
        samples.setdefault("requests", []).append(gbench.requests_per_repetition(name, b))
    for name, samples in out.items():
        for key, values in samples.items():
            if len(values) != count[name]:
                problems.add("partial", f"{name}: {key} is in {len(values)} of its {count[name]} "
                             "repetitions")
    problems.raise_first()
    for name in out.errored:
        out.pop(name, None)
    add_speedups(out, base)
    return out


def add_speedups(runs: dict[str, dict[str, list[float]]], baseline: str | None) -> None:
    """Each model's throughput over the baseline model's (the registry's `baseline`, sequential
    today) at the same delay and body size, in one run: a ratio the machine's speed mostly
    cancels out of. Where the baseline ran several batch sizes there, its largest batch counts.
    The metric keeps its name, speedup_vs_sequential."""
    base_rps: dict[tuple[str, str], tuple[int, float]] = {}
    for name, m in runs.items():
        g = NAME_RE.match(name)
        if g["impl"] == baseline and not g["close"] and m.get("req_per_s"):
            key, n = (g["l"], g["b"]), int(g["n"])
            if key not in base_rps or n > base_rps[key][0]:
                base_rps[key] = (n, statistics.median(m["req_per_s"]))
    for name, m in runs.items():
        g = NAME_RE.match(name)
        base = base_rps.get((g["l"], g["b"]), (0, None))[1]
        if g["impl"] != baseline and base and m.get("req_per_s"):
            m["speedup_vs_sequential"] = [v / base for v in m["req_per_s"]]


def applies(metric: str, name: str) -> bool:
    delayed = int(NAME_RE.match(name)["l"]) > 0
    scope = METRICS[metric][2]
    return (scope == "delayed") == delayed


# --- judging --------------------------------------------------------------------------------

def _count(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"


def failed_requests(errors: list[float], requests: list[int | None] | None) -> str:
    """'975 of 1,200 requests failed in every repetition', from the failed requests and the
    requests of each repetition (what is known of them)."""
    requests = requests or [None] * len(errors)
    hit = [(e, t) for e, t in zip(errors, requests) if e > 0]
    lo, hi = min(e for e, _ in hit), max(e for e, _ in hit)
    text = _count(lo) if lo == hi else f"{_count(lo)} to {_count(hi)}"
    totals = {t for _, t in hit}
    if None not in totals:
        low, high = min(totals), max(totals)
        text += f" of {_count(low)}" if low == high else f" of {_count(low)} to {_count(high)}"
    if len(errors) == 1:
        where = "in its only repetition"
    elif len(hit) == len(errors):
        where = "in every repetition"
    else:
        where = f"in {len(hit)} of {len(errors)} repetitions"
    return f"{text} requests failed {where}"


def _errors_row(name: str, b: dict | None, c: dict, errored_before: bool = False) -> dict | None:
    """The correctness row of a benchmark whose requests failed in this run: a regression when
    the baseline had no failed request (or no such benchmark), a note when it had some too."""
    errors = c.get("errors") or []
    if not any(e > 0 for e in errors):
        return None
    base_errors = (b or {}).get("errors") or []
    if b is None:
        baseline = "the baseline reported an error" if errored_before else "not in the baseline"
        verdict = "REGRESSION"
    elif not any(e > 0 for e in base_errors):
        baseline, verdict = "baseline: none", "REGRESSION"
    else:
        baseline = "baseline: " + failed_requests(base_errors, b.get("requests"))
        verdict = "baseline failed requests too"
    return {"benchmark": name, "metric": "errors", "direction": "lower",
            "baseline_median": statistics.median(base_errors) if base_errors else None,
            "current_median": statistics.median(errors), "change": None, "threshold": 0.0,
            "p_value": None, "n_baseline": len(base_errors), "n_current": len(errors),
            "verdict": verdict, "message": failed_requests(errors, c.get("requests")),
            "baseline": baseline}


def _repetitions(m: dict) -> int:
    return max((len(v) for k, v in m.items() if k in METRICS or k == "errors"), default=0)


def _check_comparable(base: dict, cur: dict, names: list[str]) -> None:
    """InputError unless every benchmark judged has enough repetitions on both sides and the
    counters the baseline has."""
    few = [(n, _repetitions(base[n]), _repetitions(cur[n])) for n in names
           if min(_repetitions(base[n]), _repetitions(cur[n])) < MIN_REPETITIONS]
    if few:
        name, nb, nc = few[0]
        raise InputError(f"too few repetitions to judge {name}: {nb} in the baseline, {nc} in "
                         f"this run; the gate needs at least {MIN_REPETITIONS} on each side "
                         "(Google Benchmark's --benchmark_repetitions)"
                         + (f" (and {len(few) - 1} more benchmarks like it)" if len(few) > 1
                            else ""))
    # The speedup is derived from another benchmark (the baseline model's), which --allow-missing
    # may have let go; everything else a benchmark measures itself.
    own = [k for k in METRICS if k != "speedup_vs_sequential"] + ["errors"]
    for name in names:
        lost = [k for k in own if base[name].get(k) and not cur[name].get(k)]
        if lost:
            raise InputError(f"{name}: {', '.join(lost)} in the baseline but not in this run: "
                             "the gate cannot judge what was not measured")


def judge(base: dict, cur: dict, thresholds: dict[str, float], alpha: float,
          allow_missing: bool = False) -> dict:
    """The verdict on `cur` against `base` (as load() gives them). Raises InputError when a
    benchmark cannot be judged (too few repetitions, a counter that vanished, a zero baseline)."""
    base_errored, cur_errored = getattr(base, "errored", {}), getattr(cur, "errored", {})
    base_names, cur_names = set(base) | set(base_errored), set(cur) | set(cur_errored)
    common = sorted(set(base) & set(cur))
    _check_comparable(base, cur, common)
    rows = []
    failing = set()
    for name in sorted(cur):
        row = _errors_row(name, base.get(name), cur[name], name in base_errored)
        if row:
            rows.append(row)
            failing.add(name)
    for name in common:
        for metric, (direction, _, _) in METRICS.items():
            if not applies(metric, name):
                continue
            b, c = base[name].get(metric), cur[name].get(metric)
            if not b or not c:
                continue
            bm, cm = statistics.median(b), statistics.median(c)
            if bm == 0 and cm != 0:
                raise InputError(f"{name}: {metric} is 0 in the baseline: no relative change "
                                 "can be judged against it")
            change = (cm - bm) / bm if bm else 0.0
            if not all(map(math.isfinite, (bm, cm, change))):
                raise InputError(f"{name}: {metric} medians {bm:g} (baseline) and {cm:g} (this "
                                 "run) are beyond any measurement")
            worse = change < 0 if direction == "higher" else change > 0
            # One-sided: does the current run tend to be worse than the baseline?
            alt = "less" if direction == "higher" else "greater"
            _, p = mann_whitney_u(c, b, alt)
            _, p_better = mann_whitney_u(c, b, "greater" if alt == "less" else "less")
            limit = thresholds[metric]
            if name in failing:
                verdict = NOT_JUDGED  # failed requests are fast: their timings say nothing
            elif worse and abs(change) > limit and p < alpha:
                verdict = "REGRESSION"
            elif not worse and abs(change) > limit and p_better < alpha:
                verdict = "improved"
            elif abs(change) > limit and min(p, p_better) >= alpha:
                verdict = "ok (not significant)"
            else:
                verdict = "ok"
            rows.append({"benchmark": name, "metric": metric, "direction": direction,
                         "baseline_median": bm, "current_median": cm, "change": change,
                         "threshold": limit, "p_value": p, "n_baseline": len(b),
                         "n_current": len(c), "verdict": verdict})
    result = {"alpha": alpha, "thresholds": thresholds, "comparisons": rows,
              "regressions": [r for r in rows if r["verdict"] == "REGRESSION"],
              "missing_in_current": sorted(base_names - cur_names),
              "errored_in_current": [{"benchmark": n, "message": cur_errored[n]}
                                     for n in sorted(cur_errored)],
              "errored_in_baseline": [{"benchmark": n, "message": base_errored[n]}
                                      for n in sorted(set(base_errored) - set(cur_errored))],
              "new_in_current": sorted(cur_names - base_names),
              "allow_missing": allow_missing,
              # What this judgement measured, for a confirming round (confirm()): the
              # benchmarks judged on both sides, and those whose failed requests were counted.
              "compared": common, "counted": sorted(cur)}
    result["verdict"] = verdict_of(result)
    return result


def incomplete(result: dict) -> bool:
    """Benchmarks of the baseline that this run lacks or that reported an error, and the gate
    was not told to allow it."""
    return not result.get("allow_missing") and bool(result["missing_in_current"]
                                                    or result["errored_in_current"])


def verdict_of(result: dict) -> str:
    return "fail" if result["regressions"] or incomplete(result) else "pass"


def confirm(result: dict, again: dict) -> dict:
    """Keeps as regressions only those that a second, independent measurement flags again; the
    others are marked "flagged, not confirmed" (noise that one round of a shared machine made).
    A regression the second round did not measure stands (nothing passes unmeasured); failed
    requests the second round found where the baseline had none fail as well."""
    repeated = {(r["benchmark"], r["metric"]) for r in again["regressions"]}
    compared, counted = set(again.get("compared", [])), set(again.get("counted", []))
    confirmed, unconfirmed = [], []
    for r in result["comparisons"]:
        if r["verdict"] != "REGRESSION":
            continue
        measured = counted if r["metric"] == "errors" else compared
        if (r["benchmark"], r["metric"]) in repeated:
            r["confirmed"] = True
            confirmed.append(r)
        elif r["benchmark"] not in measured:
            r["confirmed"] = False
            r["not_remeasured"] = True
            confirmed.append(r)
        else:
            r["verdict"] = "flagged, not confirmed"
            unconfirmed.append(r)
    flagged = {(r["benchmark"], r["metric"]) for r in confirmed + unconfirmed}
    for r in again["regressions"]:
        if r["metric"] == "errors" and (r["benchmark"], "errors") not in flagged:
            r = dict(r, confirmed=True, confirming_round_only=True)
            result["comparisons"].append(r)
            confirmed.append(r)
    result["regressions"] = confirmed
    result["unconfirmed"] = unconfirmed
    result["verdict"] = verdict_of(result)
    return result


def fmt_value(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _table(rows: list[dict]) -> list[str]:
    lines = ["| benchmark | metric | baseline median | current median | change | threshold "
             "| p-value | verdict |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = f"**{r['verdict']}**" if r["verdict"] == "REGRESSION" else r["verdict"]
        errors = r["metric"] == "errors"
        change = "–" if r["change"] is None else f"{r['change']:+.1%}"
        p_value = "–" if r["p_value"] is None else f"{r['p_value']:.4f}"
        lines.append(f"| {r['benchmark']} | {r['metric']} ({r['direction']} is better) "
                     f"| {fmt_value(r['baseline_median'])} | {fmt_value(r['current_median'])} "
                     f"| {change} | {'none allowed' if errors else format(r['threshold'], '.0%')}"
                     f" | {p_value} | {verdict} |")
    return lines


def _failures(result: dict) -> list[str]:
    """Why the run fails beyond its timings, one bullet each: failed requests, then (unless
    allowed) benchmarks that errored or are missing."""
    lines = [f"- **Requests failed** in `{r['benchmark']}`: {r['message']} ({r['baseline']})"
             + (" in the confirming round" if r.get("confirming_round_only") else "") + "."
             for r in result["regressions"] if r["metric"] == "errors"]
    if not result.get("allow_missing"):
        errored = result["errored_in_current"]
        if errored:
            lines.append(f"- **Reported an error**: {len(errored)} benchmark(s) in this run, first "
                         f"`{errored[0]['benchmark']}`: {errored[0]['message']} (listed below).")
        if result["missing_in_current"]:
            lines.append(f"- **Missing**: {len(result['missing_in_current'])} benchmark(s) of "
                         "the baseline are not in this run (listed below).")
        if result["errored_in_current"] or result["missing_in_current"]:
            lines.append("- (`--allow-missing` judges the benchmarks both runs have and lists "
                         "the others.)")
    return ["Correctness, judged before speed:", ""] + lines + [""] if lines else []


def _header(result: dict) -> list[str]:
    lines = [f"## iobench regression gate: {result['verdict'].upper()}", ""]
    if result.get("other_machine"):
        lines += [f"**Compared across machines** ({result['other_machine']}): absolute numbers "
                  "differ between machines, so read this as a hint, not a verdict.", ""]
    if _confirmation(result):
        lines += [_confirmation(result), ""]
    return lines + _failures(result)


def _confirmation(result: dict) -> str:
    """What the confirming round decided; empty when there was none or nothing was flagged."""
    if "unconfirmed" not in result or not (result["regressions"] or result["unconfirmed"]):
        return ""
    flagged = len(result["regressions"]) + len(result["unconfirmed"])

    def names(rows: list[dict]) -> str:
        return ", ".join(f"`{r['benchmark']}` {r['metric']}" for r in rows)

    text = (f"{flagged} regression(s) flagged and re-measured in a confirming round: "
            f"{len(result['regressions'])} confirmed")
    if result["regressions"]:
        text += f" ({names(result['regressions'])})"
    stood = [r for r in result["regressions"] if r.get("not_remeasured")]
    if stood:
        text += f"; not re-measured, so they stand: {names(stood)}"
    if result["unconfirmed"]:
        text += f"; not confirmed, so not failed: {names(result['unconfirmed'])}"
    return text + "."


def _one_sided(result: dict) -> list[str]:
    lines = []
    missing = "In the baseline but not in this run" + (
        "" if result.get("allow_missing") else " (fails the gate unless --allow-missing)")
    for key, title in (("missing_in_current", missing),
                       ("errored_in_current", "Reported an error in this run" + (
                           "" if result.get("allow_missing")
                           else " (fails the gate unless --allow-missing)")),
                       ("errored_in_baseline", "Reported an error in the baseline (not judged)"),
                       ("new_in_current", "New in this run (no baseline)")):
        items = result.get(key) or []
        if items:
            lines += ["", f"{title}:", ""] + [
                f"- {n['benchmark']}: {n['message']}" if isinstance(n, dict) else f"- {n}"
                for n in items]
    return lines


def markdown(result: dict) -> str:
    lines = _header(result) + [
        f"{len(result['comparisons'])} comparisons, {len(result['regressions'])} regressions "
        f"(alpha {result['alpha']}, one-sided Mann-Whitney U on the repetitions, and a change "
        "beyond the metric's threshold).", ""]
    lines += _table(result["comparisons"]) + _one_sided(result)
    return "\n".join(lines) + "\n"


def moved(r: dict) -> bool:
    """Worth a line in a short summary: judged anything but plain ok, or moved by more than half
    of what its threshold allows."""
    return r["verdict"] != "ok" or (r["change"] is not None
                                    and abs(r["change"]) > r["threshold"] / 2)


def _first_failure(result: dict) -> str:
    regs = result["regressions"]
    if regs:
        first = regs[0]
        what = (first["message"] if first["metric"] == "errors"
                else f"{first['change']:+.1%}")
        return (f"{len(regs)} regression(s), first `{first['benchmark']}` {first['metric']} "
                f"{what}")
    parts = []
    if result["errored_in_current"]:
        parts.append(f"{len(result['errored_in_current'])} benchmark(s) reported an error, "
                     f"first `{result['errored_in_current'][0]['benchmark']}`")
    if result["missing_in_current"]:
        parts.append(f"{len(result['missing_in_current'])} benchmark(s) of the baseline missing, "
                     f"first `{result['missing_in_current'][0]}`")
    return "; ".join(parts)


def github(result: dict) -> str:
    """For a CI job summary ($GITHUB_STEP_SUMMARY): the verdict in one line, then what moved, then
    every comparison folded away."""
    if result["verdict"] == "fail":
        verdict = f"**iobench: FAIL**, {_first_failure(result)}"
    else:
        verdict = (f"**iobench: PASS**, no regression in {len(result['comparisons'])} "
                   "comparisons")
    lines = [verdict, ""]
    if _confirmation(result):
        lines += [_confirmation(result), ""]
    if result.get("other_machine"):
        lines += [f"Compared across machines ({result['other_machine']}): a hint, not a "
                  "verdict.", ""]
    lines += _failures(result)
    shown = [r for r in result["comparisons"] if moved(r)]
    if shown:
        lines += ["What moved:", ""] + _table(shown)
    else:
        lines.append("Nothing moved by more than half its threshold.")
    lines += _one_sided(result)
    lines += ["", "<details><summary>Every comparison</summary>", ""]
    lines += _table(result["comparisons"]) + ["", "</details>"]
    return "\n".join(lines) + "\n"


def to_json(result: dict) -> str:
    """Strict JSON: a value that is not finite is a bug here, never a NaN token in the output."""
    return json.dumps(result, indent=1, allow_nan=False) + "\n"


# --- thresholds -----------------------------------------------------------------------------

def _fraction(value, where: str) -> float:
    """A threshold: a finite number above 0."""
    if not gbench.is_number(value) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{where}: a threshold is a finite fraction above 0, e.g. 0.05 "
                         f"(got {_number_text(value)})")
    return float(value)


def _alpha(value, where: str) -> float:
    if not gbench.is_number(value) or not 0 < value < 1:  # NaN fails both comparisons
        raise InputError(f"{where}: alpha must be a number between 0 and 1, e.g. 0.05 "
                         f"(got {_number_text(value)})")
    return float(value)


def load_thresholds(args, baseline: Path) -> tuple[dict[str, float], float]:
    thresholds = {m: t for m, (_, t, _) in METRICS.items()}
    alpha = DEFAULT_ALPHA
    file = Path(args.thresholds) if args.thresholds else baseline.parent / "thresholds.json"
    if args.thresholds or file.exists():
        try:
            doc = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"bad thresholds file {file}: {e}") from e
        shape = 'an object {"alpha": 0.05, "metrics": {"efficiency": 0.06, ...}}'
        if not isinstance(doc, dict):
            raise InputError(f"{file}: expected {shape}, not {type(doc).__name__}")
        unknown = sorted(set(doc) - {"alpha", "metrics"})
        if unknown:
            raise InputError(f"{file}: unknown key(s) {', '.join(map(repr, unknown))}; expected "
                             f"{shape}")
        if "alpha" in doc:
            alpha = _alpha(doc["alpha"], f"{file}: alpha")
        metrics = doc.get("metrics", {})
        if not isinstance(metrics, dict):
            raise InputError(f"{file}: 'metrics' must be an object {{metric: fraction}}, not "
                             f"{type(metrics).__name__}")
        for m, t in metrics.items():
            if m not in METRICS:
                raise InputError(f"{file}: unknown metric '{m}' (known: {', '.join(METRICS)})")
            thresholds[m] = _fraction(t, f"{file}: metrics.{m}")
    for item in args.threshold:
        m, _, t = item.partition("=")
        if m not in METRICS:
            raise InputError(f"--threshold: unknown metric '{m}' (known: {', '.join(METRICS)})")
        try:
            value = float(t)
        except ValueError as e:
            raise InputError(f"--threshold {item}: expected METRIC=FRACTION, "
                             "e.g. efficiency=0.05") from e
        thresholds[m] = _fraction(value, f"--threshold {item}")
    if args.alpha is not None:
        alpha = _alpha(args.alpha, "--alpha")
    return thresholds, alpha


# --- the command line -----------------------------------------------------------------------

def _stderr_lines(result: dict) -> list[str]:
    """One line per failure or note, failures first."""
    lines = []
    for r in result["regressions"]:
        how = (", confirmed" if r.get("confirmed") else "") + (
            ", not re-measured" if r.get("not_remeasured") else "")
        if r["metric"] == "errors":
            lines.append(f"ERRORS {r['benchmark']}: {r['message']} ({r['baseline']})"
                         + (" in the confirming round" if r.get("confirming_round_only")
                            else how))
    allowed = result.get("allow_missing")
    for e in result["errored_in_current"]:
        lines.append(f"note: {e['benchmark']} reported an error in this run: {e['message']}"
                     if allowed else f"ERRORED {e['benchmark']}: {e['message']} "
                     "(--allow-missing judges the rest)")
    for n in result["missing_in_current"]:
        lines.append(f"note: {n} is in the baseline but not in this run" if allowed else
                     f"MISSING {n} is in the baseline but not in this run "
                     "(--allow-missing judges the rest)")
    for r in result["regressions"]:
        if r["metric"] != "errors":
            lines.append(f"REGRESSION {r['benchmark']} {r['metric']}: {r['change']:+.1%} "
                         f"(threshold {r['threshold']:.0%}, p = {r['p_value']:.4f})"
                         + (", confirmed" if r.get("confirmed") else "")
                         + (", not re-measured in the confirming round"
                            if r.get("not_remeasured") else ""))
    for r in result.get("unconfirmed", []):
        what = r["message"] if r["metric"] == "errors" else f"{r['change']:+.1%}"
        lines.append(f"not confirmed (passed): {r['benchmark']} {r['metric']}: {what} in the "
                     "first round")
    for e in result["errored_in_baseline"]:
        lines.append(f"note: {e['benchmark']} reported an error in the baseline (not judged)")
    return [f"compare.py: {line}" for line in lines]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("baseline", type=Path)
    ap.add_argument("current", type=Path)
    ap.add_argument("--alpha", type=float, help=f"significance level (default {DEFAULT_ALPHA})")
    ap.add_argument("--threshold", action="append", default=[], metavar="METRIC=FRACTION",
                    help="relative change allowed for a metric, e.g. efficiency=0.05")
    ap.add_argument("--thresholds", help="JSON file {alpha, metrics: {metric: fraction}}")
    ap.add_argument("--format", choices=("markdown", "json", "github"), default="markdown",
                    help="markdown table (default), JSON, or a CI job summary (github)")
    ap.add_argument("--json", action="store_true", help="the same as --format json")
    ap.add_argument("--allow-other-machine", action="store_true",
                    help="judge files from different machines anyway (labelled as such)")
    ap.add_argument("--allow-missing", action="store_true",
                    help="benchmarks of the baseline that this run lacks or that reported an "
                         "error are listed instead of failing the gate")
    ap.add_argument("--confirm", nargs=2, type=Path, metavar=("BASELINE2", "CURRENT2"),
                    help="a second, independent measurement: a regression fails only if it is "
                         "flagged in both")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    fmt = "json" if args.json else args.format
    try:
        thresholds, alpha = load_thresholds(args, args.baseline)
        base, cur = load(args.baseline), load(args.current)
        contexts = [gbench.read(p).get("context") for p in (args.baseline, args.current)]
    except (InputError, gbench.ResultsError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    other = fingerprint.differences(*(c if isinstance(c, dict) else None for c in contexts))
    if other and not args.allow_other_machine:
        print(f"compare.py: the two files come from different machines ({'; '.join(other)}): "
              "absolute numbers do not compare across machines. Measure both revisions here with "
              "scripts/ab.sh BASE_REF, or re-record the baseline on this machine with "
              "scripts/update-baseline.sh; --allow-other-machine compares anyway.",
              file=sys.stderr)
        return 2
    try:
        result = judge(base, cur, thresholds, alpha, args.allow_missing)
    except InputError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    if not result["comparisons"] and result["verdict"] == "pass":
        print(f"compare.py: nothing to judge: no benchmark ran in both {args.baseline} and "
              f"{args.current}", file=sys.stderr)
        return 2
    if args.confirm:
        try:
            # The confirming round measures only what was flagged: the rest is not missing.
            again = judge(load(args.confirm[0], allow_empty=True),
                          load(args.confirm[1], allow_empty=True), thresholds, alpha, True)
        except InputError as e:
            print(f"compare.py: --confirm: {e}", file=sys.stderr)
            return 2
        confirm(result, again)
    if other:
        result["other_machine"] = "; ".join(other)
    render = {"json": to_json, "markdown": markdown, "github": github}[fmt]
    print(render(result), end="")
    for line in _stderr_lines(result):
        print(line, file=sys.stderr)
    return 1 if result["verdict"] == "fail" else 0


def guarded(argv: list[str]) -> int:
    """main(), with anything unforeseen as one line and exit 2 (never a traceback, whose exit 1
    would read as "regression"); IOBENCH_DEBUG=1 shows the traceback."""
    try:
        return main(argv)
    except Exception as e:  # noqa: BLE001 - the last line of defence of a CI gate
        if os.environ.get("IOBENCH_DEBUG"):
            raise
        print(f"compare.py: internal error, nothing judged: {type(e).__name__}: {e} "
              "(IOBENCH_DEBUG=1 shows where)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(guarded(sys.argv[1:]))
