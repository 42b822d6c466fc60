"""The gate's judgement: correctness first (failed requests, errored and missing benchmarks),
then each metric (one-sided Mann-Whitney U and a threshold), and the confirming round. Part of
scripts/compare.py, the regression gate."""
from __future__ import annotations

import math
import statistics

from mannwhitney import mann_whitney_u
from iobench_gate.samples import (METRICS, MIN_REPETITIONS, NOT_JUDGED, InputError, applies,
                                  server_bound)


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


def bound_in_either(base: dict, cur: dict, names: list[str]) -> list[dict]:
    """The benchmarks of `names` that were server-bound in the baseline, this run or both, each
    with why on each side (None where it was not)."""
    out = []
    for name in names:
        why = {side: server_bound(name, runs[name])
               for side, runs in (("baseline", base), ("current", cur))}
        if any(sb.bound for sb in why.values()):
            out.append({"benchmark": name, **{side: sb.why if sb.bound else None
                                              for side, sb in why.items()}})
    return out


def judge(base: dict, cur: dict, thresholds: dict[str, float], alpha: float,
          allow_missing: bool = False) -> dict:
    """The verdict on `cur` against `base` (as load() gives them). Raises InputError when a
    benchmark cannot be judged (too few repetitions, a counter that vanished, a zero baseline).
    A benchmark that was server-bound in either run has its timings left unjudged (listed under
    "server_bound"); its failed requests are judged like any other's."""
    base_errored, cur_errored = getattr(base, "errored", {}), getattr(cur, "errored", {})
    base_names, cur_names = set(base) | set(base_errored), set(cur) | set(cur_errored)
    common = sorted(set(base) & set(cur))
    _check_comparable(base, cur, common)
    bound = bound_in_either(base, cur, common)
    judged = [n for n in common if n not in {b["benchmark"] for b in bound}]
    rows = []
    failing = set()
    for name in sorted(cur):
        row = _errors_row(name, base.get(name), cur[name], name in base_errored)
        if row:
            rows.append(row)
            failing.add(name)
    for name in judged:
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
              "server_bound": bound,
              "allow_missing": allow_missing,
              # What this judgement measured, for a confirming round (confirm()): the
              # benchmarks whose timings were judged on both sides (a server-bound one was not
              # measured), and those whose failed requests were counted.
              "compared": judged, "counted": sorted(cur)}
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
