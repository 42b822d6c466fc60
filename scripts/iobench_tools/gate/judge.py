"""The gate's judgement: correctness first (failed requests, errored and missing benchmarks),
then each metric (one-sided Mann-Whitney U and a threshold), and the confirming round. Part of
scripts/compare.py, the regression gate."""
from __future__ import annotations

import math
import statistics

from iobench_tools.gate.samples import (METRICS, MIN_REPETITIONS, NAME_RE, NOT_JUDGED,
                                        InputError, judged_metrics, server_bound)
from iobench_tools.stats import mann_whitney_u


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
    A benchmark that was server-bound in either run (listed under "server_bound") has only the
    client's own metrics judged (samples.OWN), not its timings; its failed requests are judged
    like any other's. "judged" maps each benchmark both runs have to the metrics judged on it."""
    base_errored, cur_errored = getattr(base, "errored", {}), getattr(cur, "errored", {})
    base_names, cur_names = set(base) | set(base_errored), set(cur) | set(cur_errored)
    common = sorted(set(base) & set(cur))
    _check_comparable(base, cur, common)
    bound = bound_in_either(base, cur, common)
    bound_names = {b["benchmark"] for b in bound}
    rows = []
    failing = set()
    for name in sorted(cur):
        row = _errors_row(name, base.get(name), cur[name], name in base_errored)
        if row:
            rows.append(row)
            failing.add(name)
    judged_on: dict[str, list[str]] = {}
    for name in common:
        judged_on[name] = []
        for metric in judged_metrics(name, name in bound_names):
            b, c = base[name].get(metric), cur[name].get(metric)
            if not b or not c:
                continue
            judged_on[name].append(metric)
            rows.append(_metric_row(name, metric, b, c, thresholds[metric], alpha,
                                    name in failing))
    result = {"alpha": alpha, "thresholds": thresholds, "comparisons": rows,
              "regressions": [r for r in rows if r["verdict"] == "REGRESSION"],
              "missing_in_current": sorted(base_names - cur_names),
              "errored_in_current": [{"benchmark": n, "message": cur_errored[n]}
                                     for n in sorted(cur_errored)],
              "errored_in_baseline": [{"benchmark": n, "message": base_errored[n]}
                                      for n in sorted(set(base_errored) - set(cur_errored))],
              "new_in_current": sorted(cur_names - base_names),
              "server_bound": bound,
              # Open-loop steps, in either file: not batches, so never judged nor missing.
              "open_loop": sorted(set(getattr(base, "open_loop", []))
                                  | set(getattr(cur, "open_loop", []))),
              # Batches with work or a block per response, in either file: listed, not judged.
              "work": sorted(set(getattr(base, "work", [])) | set(getattr(cur, "work", []))),
              "allow_missing": allow_missing,
              # What this judgement measured, for a confirming round (confirm()) and for the
              # reader: the metrics judged on each benchmark, the benchmarks whose timings were
              # judged (on both sides: a server-bound one's were not), per model, and those
              # whose failed requests were counted.
              "judged": judged_on,
              "compared": [n for n in common if n not in bound_names],
              "timing_by_model": timing_by_model(common, bound_names),
              "counted": sorted(cur)}
    result["verdict"] = verdict_of(result)
    return result


def _metric_row(name: str, metric: str, b: list[float], c: list[float], limit: float,
                alpha: float, requests_failed: bool) -> dict:
    """One metric of one benchmark judged: the medians' relative change against its threshold,
    and a one-sided Mann-Whitney U test over the repetitions."""
    direction = METRICS[metric][0]
    bm, cm = statistics.median(b), statistics.median(c)
    if bm == 0 and cm != 0:
        raise InputError(f"{name}: {metric} is 0 in the baseline: no relative change can be "
                         "judged against it")
    change = (cm - bm) / bm if bm else 0.0
    if not all(map(math.isfinite, (bm, cm, change))):
        raise InputError(f"{name}: {metric} medians {bm:g} (baseline) and {cm:g} (this run) are "
                         "beyond any measurement")
    worse = change < 0 if direction == "higher" else change > 0
    # One-sided: does the current run tend to be worse than the baseline?
    alt = "less" if direction == "higher" else "greater"
    _, p = mann_whitney_u(c, b, alt)
    _, p_better = mann_whitney_u(c, b, "greater" if alt == "less" else "less")
    if requests_failed:
        verdict = NOT_JUDGED  # failed requests are fast: their timings say nothing
    elif worse and abs(change) > limit and p < alpha:
        verdict = "REGRESSION"
    elif not worse and abs(change) > limit and p_better < alpha:
        verdict = "improved"
    elif abs(change) > limit and min(p, p_better) >= alpha:
        verdict = "ok (not significant)"
    else:
        verdict = "ok"
    return {"benchmark": name, "metric": metric, "direction": direction, "baseline_median": bm,
            "current_median": cm, "change": change, "threshold": limit, "p_value": p,
            "n_baseline": len(b), "n_current": len(c), "verdict": verdict}


def timing_by_model(names: list[str], bound: set[str]) -> dict[str, list[str]]:
    """model -> its benchmarks (of `names`) whose timings were judged; an empty list for a model
    whose every benchmark was server-bound, so that the gate can say it saw only that model's
    own cost."""
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(NAME_RE.match(name)["impl"], [])
        if name not in bound:
            out[NAME_RE.match(name)["impl"]].append(name)
    return out


def incomplete(result: dict) -> bool:
    """Benchmarks that reported an error in this run (never forgiven: a broken benchmark is no
    measurement of anything), or benchmarks of the baseline that this run lacks and the gate was
    not told to allow it."""
    return bool(result["errored_in_current"]) or (not result.get("allow_missing")
                                                  and bool(result["missing_in_current"]))


def verdict_of(result: dict) -> str:
    return "fail" if result["regressions"] or incomplete(result) else "pass"


def confirm(result: dict, again: dict) -> dict:
    """Keeps as regressions only those that a second, independent measurement flags again; the
    others are marked "flagged, not confirmed" (noise that one round of a shared machine made).
    A regression the second round did not measure stands (nothing passes unmeasured); failed
    requests the second round found where the baseline had none fail as well, and so does a
    benchmark that reported an error in it."""
    repeated = {(r["benchmark"], r["metric"]) for r in again["regressions"]}
    judged_again, counted = again.get("judged", {}), set(again.get("counted", []))
    confirmed, unconfirmed = [], []
    for r in result["comparisons"]:
        if r["verdict"] != "REGRESSION":
            continue
        measured = (r["benchmark"] in counted if r["metric"] == "errors"
                    else r["metric"] in judged_again.get(r["benchmark"], []))
        if (r["benchmark"], r["metric"]) in repeated:
            r["confirmed"] = True
            confirmed.append(r)
        elif not measured:
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
    errored = {e["benchmark"] for e in result["errored_in_current"]}
    result["errored_in_current"] += [
        dict(e, message=f"{e['message']} (in the confirming round)")
        for e in again.get("errored_in_current", []) if e["benchmark"] not in errored]
    result["regressions"] = confirmed
    result["unconfirmed"] = unconfirmed
    result["verdict"] = verdict_of(result)
    return result
