#!/usr/bin/python3
"""Judge an iobench run against a baseline: the CI regression gate.

    scripts/compare.py BASELINE.json CURRENT.json [--alpha A] [--threshold METRIC=FRACTION]...
                       [--thresholds FILE] [--format markdown|json|github] [--allow-other-machine]

Benchmarks are matched by name. A metric regresses only when both hold:
  - a one-sided Mann-Whitney U test over the repetitions says the current run is worse
    (p < alpha), and
  - the relative change of the medians is worse than the metric's threshold.
Exit 0: no regression. Exit 1: regressions (each named on stderr). Exit 2: bad input, or the two
files come from different machines (see fingerprint.py; --allow-other-machine judges anyway and
labels the output). A markdown table goes to stdout (--format json: JSON; --format github: a
one-line verdict, then the table of what moved, for a CI job summary). Benchmarks on one side only
are listed.
Thresholds and alpha come from the flags, else from thresholds.json next to the baseline, else
from the defaults below.
"""
from __future__ import annotations

import argparse
import json
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
DEFAULT_ALPHA = 0.05
MIN_REPETITIONS = 4  # below this even a perfect separation cannot reach p < 0.05 one-sided


class InputError(Exception):
    pass


# --- loading --------------------------------------------------------------------------------

def load(path: Path) -> dict[str, dict[str, list[float]]]:
    """name -> metric -> samples (one per repetition)."""
    out: dict[str, dict[str, list[float]]] = {}
    try:
        doc = gbench.read(path)
        for name, b in gbench.runs(doc, path):
            samples = out.setdefault(name, {})
            makespan = gbench.makespan_ms(b)
            if makespan is not None:
                samples.setdefault("makespan_ms", []).append(makespan)
            for key in METRICS:
                if isinstance(b.get(key), (int, float)):
                    samples.setdefault(key, []).append(float(b[key]))
        base = gbench.baseline(gbench.models(doc))
    except gbench.ResultsError as e:
        raise InputError(str(e)) from e
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

def judge(base: dict, cur: dict, thresholds: dict[str, float], alpha: float) -> dict:
    rows = []
    for name in sorted(set(base) & set(cur)):
        for metric, (direction, _, _) in METRICS.items():
            if not applies(metric, name):
                continue
            b, c = base[name].get(metric), cur[name].get(metric)
            if not b or not c:
                continue
            bm, cm = statistics.median(b), statistics.median(c)
            change = (cm - bm) / bm if bm else 0.0
            worse = change < 0 if direction == "higher" else change > 0
            # One-sided: does the current run tend to be worse than the baseline?
            alt = "less" if direction == "higher" else "greater"
            _, p = mann_whitney_u(c, b, alt)
            _, p_better = mann_whitney_u(c, b, "greater" if alt == "less" else "less")
            limit = thresholds[metric]
            enough = min(len(b), len(c)) >= MIN_REPETITIONS
            if not enough:
                verdict = "too few repetitions"
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
    regressions = [r for r in rows if r["verdict"] == "REGRESSION"]
    return {"alpha": alpha, "thresholds": thresholds, "comparisons": rows,
            "regressions": regressions, "missing_in_current": sorted(set(base) - set(cur)),
            "new_in_current": sorted(set(cur) - set(base)),
            "verdict": "fail" if regressions else "pass"}


def confirm(result: dict, again: dict) -> dict:
    """Keeps as regressions only those that a second, independent measurement flags again; the
    others are marked "flagged, not confirmed" (noise that one round of a shared machine made)."""
    repeated = {(r["benchmark"], r["metric"]) for r in again["regressions"]}
    confirmed, unconfirmed = [], []
    for r in result["comparisons"]:
        if r["verdict"] != "REGRESSION":
            continue
        if (r["benchmark"], r["metric"]) in repeated:
            r["confirmed"] = True
            confirmed.append(r)
        else:
            r["verdict"] = "flagged, not confirmed"
            unconfirmed.append(r)
    result["regressions"] = confirmed
    result["unconfirmed"] = unconfirmed
    result["verdict"] = "fail" if confirmed else "pass"
    return result


def fmt_value(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _table(rows: list[dict]) -> list[str]:
    lines = ["| benchmark | metric | baseline median | current median | change | threshold "
             "| p-value | verdict |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = f"**{r['verdict']}**" if r["verdict"] == "REGRESSION" else r["verdict"]
        lines.append(f"| {r['benchmark']} | {r['metric']} ({r['direction']} is better) "
                     f"| {fmt_value(r['baseline_median'])} | {fmt_value(r['current_median'])} "
                     f"| {r['change']:+.1%} | {r['threshold']:.0%} | {r['p_value']:.4f} "
                     f"| {verdict} |")
    return lines


def _header(result: dict) -> list[str]:
    lines = [f"## iobench regression gate: {result['verdict'].upper()}", ""]
    if result.get("other_machine"):
        lines += [f"**Compared across machines** ({result['other_machine']}): absolute numbers "
                  "differ between machines, so read this as a hint, not a verdict.", ""]
    if _confirmation(result):
        lines += [_confirmation(result), ""]
    return lines


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
    if result["unconfirmed"]:
        text += f"; not confirmed, so not failed: {names(result['unconfirmed'])}"
    return text + "."


def _one_sided(result: dict) -> list[str]:
    lines = []
    for key, title in (("missing_in_current", "In the baseline but not in this run"),
                       ("new_in_current", "New in this run (no baseline)")):
        if result[key]:
            lines += ["", f"{title}:", ""] + [f"- {n}" for n in result[key]]
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
    return r["verdict"] != "ok" or abs(r["change"]) > r["threshold"] / 2


def github(result: dict) -> str:
    """For a CI job summary ($GITHUB_STEP_SUMMARY): the verdict in one line, then what moved, then
    every comparison folded away."""
    regs = result["regressions"]
    if regs:
        first = regs[0]
        verdict = (f"**iobench: FAIL**, {len(regs)} regression(s), first "
                   f"`{first['benchmark']}` {first['metric']} {first['change']:+.1%}")
    else:
        verdict = (f"**iobench: PASS**, no regression in {len(result['comparisons'])} "
                   "comparisons")
    lines = [verdict, ""]
    if _confirmation(result):
        lines += [_confirmation(result), ""]
    if result.get("other_machine"):
        lines += [f"Compared across machines ({result['other_machine']}): a hint, not a "
                  "verdict.", ""]
    shown = [r for r in result["comparisons"] if moved(r)]
    if shown:
        lines += ["What moved:", ""] + _table(shown)
    else:
        lines.append("Nothing moved by more than half its threshold.")
    lines += _one_sided(result)
    lines += ["", "<details><summary>Every comparison</summary>", ""]
    lines += _table(result["comparisons"]) + ["", "</details>"]
    return "\n".join(lines) + "\n"


def load_thresholds(args, baseline: Path) -> tuple[dict[str, float], float]:
    thresholds = {m: t for m, (_, t, _) in METRICS.items()}
    alpha = DEFAULT_ALPHA
    file = Path(args.thresholds) if args.thresholds else baseline.parent / "thresholds.json"
    if args.thresholds or file.exists():
        try:
            doc = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"bad thresholds file {file}: {e}") from e
        alpha = float(doc.get("alpha", alpha))
        for m, t in doc.get("metrics", {}).items():
            if m not in METRICS:
                raise InputError(f"{file}: unknown metric '{m}' (known: {', '.join(METRICS)})")
            thresholds[m] = float(t)
    for item in args.threshold:
        m, _, t = item.partition("=")
        if m not in METRICS:
            raise InputError(f"--threshold: unknown metric '{m}' (known: {', '.join(METRICS)})")
        try:
            thresholds[m] = float(t)
        except ValueError as e:
            raise InputError(f"--threshold {item}: expected METRIC=FRACTION, "
                             "e.g. efficiency=0.05") from e
    if args.alpha is not None:
        alpha = args.alpha
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1 (got {alpha})")
    return thresholds, alpha


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
    other = fingerprint.differences(*contexts)
    if other and not args.allow_other_machine:
        print(f"compare.py: the two files come from different machines ({'; '.join(other)}): "
              "absolute numbers do not compare across machines. Measure both revisions here with "
              "scripts/ab.sh BASE_REF, or re-record the baseline on this machine with "
              "scripts/update-baseline.sh; --allow-other-machine compares anyway.",
              file=sys.stderr)
        return 2
    result = judge(base, cur, thresholds, alpha)
    if args.confirm:
        try:
            again = judge(load(args.confirm[0]), load(args.confirm[1]), thresholds, alpha)
        except InputError as e:
            print(f"compare.py: --confirm: {e}", file=sys.stderr)
            return 2
        confirm(result, again)
    if other:
        result["other_machine"] = "; ".join(other)
    render = {"json": lambda r: json.dumps(r, indent=1) + "\n", "markdown": markdown,
              "github": github}[fmt]
    print(render(result), end="")
    for r in result["regressions"]:
        print(f"compare.py: REGRESSION {r['benchmark']} {r['metric']}: {r['change']:+.1%} "
              f"(threshold {r['threshold']:.0%}, p = {r['p_value']:.4f})"
              + (", confirmed" if r.get("confirmed") else ""), file=sys.stderr)
    for r in result.get("unconfirmed", []):
        print(f"compare.py: not confirmed (passed): {r['benchmark']} {r['metric']}: "
              f"{r['change']:+.1%} in the first round", file=sys.stderr)
    for n in result["missing_in_current"]:
        print(f"compare.py: note: {n} is in the baseline but not in this run", file=sys.stderr)
    return 1 if result["regressions"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
