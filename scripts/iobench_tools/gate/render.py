"""The gate's verdict as text: a markdown table, a CI job summary (github), JSON, and one line
per failure for stderr. Part of scripts/compare.py, the regression gate."""
from __future__ import annotations

import json

from iobench_tools.gate.samples import NAME_RE, OWN, TIMING, metrics_text


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
    """Why the run fails beyond its timings, one bullet each: failed requests, benchmarks that
    reported an error, then (unless allowed) benchmarks that are missing."""
    lines = [f"- **Requests failed** in `{r['benchmark']}`: {r['message']} ({r['baseline']})"
             + (" in the confirming round" if r.get("confirming_round_only") else "") + "."
             for r in result["regressions"] if r["metric"] == "errors"]
    errored = result["errored_in_current"]
    if errored:
        lines.append(f"- **Reported an error**: {len(errored)} benchmark(s) in this run, first "
                     f"`{errored[0]['benchmark']}`: {errored[0]['message']} (listed below).")
    if result["missing_in_current"] and not result.get("allow_missing"):
        lines.append(f"- **Missing**: {len(result['missing_in_current'])} benchmark(s) of the "
                     "baseline are not in this run (listed below; `--allow-missing` judges the "
                     "benchmarks both runs have and lists the others).")
    return ["Correctness, judged before speed:", ""] + lines + [""] if lines else []


def _header(result: dict) -> list[str]:
    lines = [f"## iobench regression gate: {result['verdict'].upper()}", ""]
    if result.get("other_machine"):
        lines += [f"**Compared across machines** ({result['other_machine']}): absolute numbers "
                  "differ between machines, so read this as a hint, not a verdict.", ""]
    if _confirmation(result):
        lines += [_confirmation(result), ""]
    if untimed_models(result):
        lines += [_untimed(result), ""]
    return lines + _failures(result)


def _untimed(result: dict) -> str:
    models = untimed_models(result)
    return (f"**Not judged on timing**: {', '.join(models)}: every benchmark of "
            f"{'it' if len(models) == 1 else 'each'} was server-bound in one of the runs, so only "
            "the client's own cost and failed requests were judged.")


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


def bound_why(b: dict) -> str:
    """'this run: server CPU 95% busy (...); baseline: ...' for one server_bound entry."""
    sides = (("current", "this run"), ("baseline", "baseline"))
    return "; ".join(f"{side}: {b[key]}" for key, side in sides if b[key])


def _server_bound(result: dict) -> list[str]:
    bound = result.get("server_bound") or []
    if not bound:
        return []
    return ["", f"Server-bound: the server, not the model, set the pace, so their timings "
            f"({metrics_text(TIMING)}) are not judged; the client's own cost "
            f"({metrics_text(OWN)}) and failed requests are: {len(bound)} benchmark(s)", ""] + [
        f"- {b['benchmark']}: {bound_why(b)}" for b in bound]


def _short(name: str) -> str:
    """A benchmark's name without its fetch/<model>/ prefix."""
    g = NAME_RE.match(name)
    return name[len(f"fetch/{g['impl']}/"):] if g else name


def untimed_models(result: dict) -> list[str]:
    """The models none of whose benchmarks had its timings judged (every one server-bound)."""
    return [m for m, names in (result.get("timing_by_model") or {}).items() if not names]


def _judged_where(result: dict) -> list[str]:
    """Per model, which benchmarks had their timings judged and which only the client's own
    cost (server-bound)."""
    by_model = result.get("timing_by_model") or {}
    if not by_model:
        return []
    lines = ["", f"Judged where: timings ({metrics_text(TIMING)}) on the benchmarks the server "
             f"kept up with; the client's own cost ({metrics_text(OWN)}) and failed requests "
             "on every benchmark both runs have.", "",
             "| model | timings judged | own cost only (server-bound) |", "|---|---|---|"]
    for model, timed in by_model.items():
        own = [n for n in result["judged"] if NAME_RE.match(n)["impl"] == model
               and n not in timed]
        lines.append(f"| {model} | {', '.join(map(_short, timed)) or '**none**'} "
                     f"| {', '.join(map(_short, own)) or '–'} |")
    return lines


def _one_sided(result: dict) -> list[str]:
    lines = _server_bound(result)
    missing = "In the baseline but not in this run" + (
        "" if result.get("allow_missing") else " (fails the gate unless --allow-missing)")
    for key, title in (("missing_in_current", missing),
                       ("errored_in_current", "Reported an error in this run (fails the gate)"),
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
        "beyond the metric's threshold)" + _not_judged(result) + ".", ""]
    lines += _table(result["comparisons"]) + _one_sided(result) + _judged_where(result)
    return "\n".join(lines) + "\n"


def _not_judged(result: dict) -> str:
    n = len(result.get("server_bound") or [])
    steps = len(result.get("open_loop") or [])
    work = len(result.get("work") or [])
    return ((f"; {n} server-bound benchmark(s) judged on the client's own cost only, not on "
             "timings (listed below)" if n else "")
            + (f"; {steps} open-loop step(s) not judged: open loop (the gate judges "
               "closed-loop batches)" if steps else "")
            + (f"; {work} batch(es) with work or a block per response not judged (the gate "
               "judges plain batches)" if work else ""))


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
                   "comparisons" + _not_judged(result))
    lines = [verdict, ""]
    if _confirmation(result):
        lines += [_confirmation(result), ""]
    if result.get("other_machine"):
        lines += [f"Compared across machines ({result['other_machine']}): a hint, not a "
                  "verdict.", ""]
    if untimed_models(result):
        lines += [_untimed(result), ""]
    lines += _failures(result)
    shown = [r for r in result["comparisons"] if moved(r)]
    if shown:
        lines += ["What moved:", ""] + _table(shown)
    else:
        lines.append("Nothing moved by more than half its threshold.")
    lines += _one_sided(result) + _judged_where(result)
    lines += ["", "<details><summary>Every comparison</summary>", ""]
    lines += _table(result["comparisons"]) + ["", "</details>"]
    return "\n".join(lines) + "\n"


def to_json(result: dict) -> str:
    """Strict JSON: a value that is not finite is a bug here, never a NaN token in the output."""
    return json.dumps(result, indent=1, allow_nan=False) + "\n"


def stderr_lines(result: dict) -> list[str]:
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
        lines.append(f"ERRORED {e['benchmark']}: {e['message']}")
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
    for b in result.get("server_bound") or []:
        lines.append(f"note: {b['benchmark']} was server-bound, its timings not judged, its own "
                     f"cost ({', '.join(OWN)}) judged ({bound_why(b)})")
    for model in untimed_models(result):
        lines.append(f"note: {model} was not judged on timing: every benchmark of it was "
                     "server-bound")
    return [f"compare.py: {line}" for line in lines]
