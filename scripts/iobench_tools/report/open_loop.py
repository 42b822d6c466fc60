"""The open loop as data: each model's steps at each delay, the SLO, which steps
were sustainable and the highest of them (the maximum sustainable rate), the gap between corrected
and uncorrected latency in one sentence, and the server-bound steps counted and explained. No model
is named here: everything is picked from the rows and the registry."""
from __future__ import annotations

import dataclasses
import re
import statistics

from iobench_tools import results

from . import machine
from .rows import OpenRow, Run, finite, join_names, positive

SLO_FACTOR = 5          # the default SLO: 5 x the step's delay
SLO_FLOOR_MS = 1.0      # and never below this (a zero-delay step would otherwise get 0 ms)
GOODPUT_SHARE = 0.99    # goodput of at least this share of the offered rate
FAILURE_SHARE = 0.001   # failed + incomplete requests: at most this share of those scheduled


def parse_ms(text: str) -> float:
    """A duration as people write it: '50ms', '0.5s', '250 us', '50' (ms) -> milliseconds.
    ValueError for anything else, or a duration of 0."""
    g = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s)?\s*", str(text))
    if not g:
        raise ValueError(f"'{text}' is no duration (e.g. 50ms, 0.5s)")
    ms = float(g[1]) * {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, None: 1.0}[g[2]]
    if ms <= 0:
        raise ValueError(f"'{text}': the SLO must be above 0")
    return ms


def slo_ms(run: Run, delay_ms: int) -> float:
    """The latency objective of the steps at `delay_ms`: --slo, else 5 x the delay."""
    return run.slo_ms if run.slo_ms else max(SLO_FACTOR * delay_ms, SLO_FLOOR_MS)


def rule(run: Run) -> str:
    """The definition of a sustainable step, in words, from the constants that implement it."""
    slo = (f"the SLO ({fmt_ms(run.slo_ms)} ms, `--slo`)" if run.slo_ms
           else f"the SLO ({SLO_FACTOR}× the step's delay unless `--slo` says otherwise)")
    return (f"A step is sustainable when its corrected p99 (from the intended send time) is "
            f"within {slo}, its goodput is at least {GOODPUT_SHARE:.0%} of the offered rate, "
            f"at most {FAILURE_SHARE:.1%} of its scheduled requests failed or were left "
            "incomplete (an unanswered request fails a service owner as surely as an error), "
            "and it did not stop early; a server-bound step is not judged. A model's maximum "
            "sustainable rate is the highest offered rate of a sustainable step.")


# The tables' short verdict codes (a legend under each table says them in words); the sentences
# (misses, Line.why) carry the numbers.
CODES = {"OK": "sustainable", "MAX": "the maximum sustainable step",
         "P99": "corrected p99 above the SLO", "GOODPUT": f"goodput under {GOODPUT_SHARE:.0%} of "
         "the offered rate", "LOST": f"more than {FAILURE_SHARE:.0%} of the requests failed or "
         "incomplete", "STOPPED": "stopped early", "UNREPORTED": "a count the step did not "
         "report", "BOUND": "server-bound, not judged (the list below says why)"}


def _missed(r: OpenRow, slo: float) -> list[tuple[str, str]]:
    """(code, phrase) per criterion step `r` misses under `slo` (server-bound aside)."""
    out = []
    p99 = r.m("latency_p99_ms")
    if not finite(p99):
        out.append(("UNREPORTED", "no corrected p99"))
    elif p99 > slo:
        out.append(("P99", f"corrected p99 {fmt_ms(p99)} ms > {fmt_ms(slo)} ms"))
    goodput = r.m("goodput")
    if not finite(goodput) or goodput < GOODPUT_SHARE * r.offered:
        out.append(("GOODPUT",
                    f"goodput {rate(goodput)} < {GOODPUT_SHARE:.0%} of {rate(r.offered)}"))
    failed = r.m("failed") if finite(r.m("failed")) else r.m("errors")
    lost, scheduled = failed + r.m("incomplete"), r.m("scheduled")  # NaN where one is missing
    if not (finite(lost) and finite(scheduled)):
        out.append(("UNREPORTED", "failed, incomplete or scheduled requests not reported"))
    elif lost > FAILURE_SHARE * scheduled:
        out.append(("LOST", f"{lost:,.0f} of {scheduled:,.0f} requests failed or incomplete"))
    if finite(r.m("stopped_early")) and r.m("stopped_early") > 0:
        out.append(("STOPPED", "stopped early"))
    return out


def misses(r: OpenRow, slo: float) -> list[str]:
    """What keeps step `r` from being sustainable under `slo`, one phrase per criterion it
    misses (server-bound aside); empty: sustainable."""
    return [phrase for _, phrase in _missed(r, slo)]


def legend(codes: set[str]) -> str:
    """The legend of the codes a table used, in CODES' order."""
    return "Codes: " + "; ".join(f"{c} {words}" for c, words in CODES.items() if c in codes) + "."


@dataclasses.dataclass
class Line:
    """One model's steps at one delay and concurrency, by offered rate, with the verdicts."""
    delay_ms: int
    model: results.Model
    concurrency: int
    steps: list[OpenRow]
    slo_ms: float
    best: OpenRow | None = None        # the maximum sustainable rate's step (judged steps only)
    unjudged_best: OpenRow | None = None  # the same, server-bound steps counted
    label: str = ""                    # the model, and its C where it ran several at this delay

    @property
    def impl(self) -> str:
        return self.model.name

    @property
    def bound(self) -> list[OpenRow]:
        return [r for r in self.steps if r.server_bound]

    @property
    def capacity(self) -> float:
        """The closed-loop throughput the sweep's rates were fractions of (req/s; NaN unknown)."""
        rates = [r.m("closed_loop_rate") for r in self.steps if positive(r.m("closed_loop_rate"))]
        return statistics.median(rates) if rates else float("nan")

    def fraction(self, r: OpenRow) -> float:
        """r's offered rate as a fraction of the model's closed-loop throughput."""
        if positive(self.capacity):
            return r.offered / self.capacity
        return r.m("rate_fraction")

    def above(self) -> OpenRow | None:
        """The first step above the maximum sustainable rate (the lowest step when none)."""
        rest = [r for r in self.steps if self.best is None or r.offered > self.best.offered]
        return rest[0] if rest else None

    def why(self, r: OpenRow) -> str:
        """'sustainable', what it missed, or why it was not judged."""
        if r.server_bound:
            return f"server-bound: {r.server.why}"
        return "; ".join(misses(r, self.slo_ms)) or "sustainable"

    def code(self, r: OpenRow) -> str:
        """why() as the tables' short codes: MAX, OK, BOUND or what it missed (P99+GOODPUT)."""
        if r is self.best:
            return "MAX"
        if r.server_bound:
            return "BOUND"
        return "+".join(dict.fromkeys(c for c, _ in _missed(r, self.slo_ms))) or "OK"


def lines(run: Run) -> list[Line]:
    """Every (delay, model, concurrency) of the open-loop steps, by delay then registry order,
    each with its maximum sustainable rate."""
    groups: dict[tuple[int, str, int], list[OpenRow]] = {}
    for r in run.open_rows:
        groups.setdefault((r.delay_ms, r.impl, r.concurrency), []).append(r)
    out = []
    for (delay, impl, c), steps in sorted(groups.items(),
                                          key=lambda kv: (kv[0][0], run.rank(kv[0][1]),
                                                          kv[0][2])):
        steps.sort(key=lambda r: r.offered)
        slo = slo_ms(run, delay)
        ok = [r for r in steps if not misses(r, slo)]
        judged = [r for r in ok if not r.server_bound]
        out.append(Line(delay, steps[0].model, c, steps, slo, judged[-1] if judged else None,
                        ok[-1] if ok else None, impl))
    for ln in out:
        if sum(o.delay_ms == ln.delay_ms and o.impl == ln.impl for o in out) > 1:
            ln.label = f"{ln.impl} (C = {ln.concurrency})"
    return out


def delays(run: Run) -> list[int]:
    return sorted({r.delay_ms for r in run.open_rows})


# --- formatting -----------------------------------------------------------------------------

def fmt_ms(v: float) -> str:
    if not finite(v):
        return "–"
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}".rstrip("0").rstrip(".")


def rate(v: float) -> str:
    return f"{v:,.0f}/s" if finite(v) else "–"


def share(v: float) -> str:
    """A fraction of the closed-loop throughput: '1.25×'."""
    return f"{v:.2f}×" if finite(v) else "–"


def times(v: float) -> str:
    """A ratio: '7.6×', '27×'."""
    if not finite(v):
        return "–"
    return f"{v:.0f}×" if v >= 10 else f"{v:.1f}×"


# --- the corrected-vs-uncorrected gap -------------------------------------------------------

@dataclasses.dataclass
class Gap:
    row: OpenRow
    line: Line
    corrected: float   # corrected p99, ms
    service: float     # uncorrected (service time) p99, ms
    judged: bool       # picked among steps that were not server-bound

    @property
    def ratio(self) -> float:
        return self.corrected / self.service


QUEUED = 1.5  # below this ratio the two latencies tell the same story


def gap(run: Run) -> Gap | None:
    """The step where corrected p99 exceeds the service time's p99 by the largest factor, among
    steps not server-bound (all steps when every one was); None without such numbers."""
    by_row = {id(r): ln for ln in lines(run) for r in ln.steps}
    usable = [r for r in run.open_rows
              if positive(r.m("latency_p99_ms")) and positive(r.m("service_p99_ms"))]
    judged = [r for r in usable if not r.server_bound]
    pool = judged or usable
    if not pool:
        return None
    r = max(pool, key=lambda r: (r.m("latency_p99_ms") / r.m("service_p99_ms"),
                                 -run.rank(r.impl)))
    return Gap(r, by_row[id(r)], r.m("latency_p99_ms"), r.m("service_p99_ms"), bool(judged))


def gap_sentence(run: Run) -> str | None:
    """The corrected-vs-uncorrected gap of this run in one sentence."""
    g = gap(run)
    if g is None:
        return None
    r, ln = g.row, g.line
    part = ln.fraction(r)
    where = (f"At {share(part)} its closed-loop throughput ({rate(r.offered)} offered at a "
             f"{r.delay_ms} ms delay" if finite(part)
             else f"At {rate(r.offered)} offered ({r.delay_ms} ms delay")
    where += f", {rate(r.m('achieved_rate'))} sent)" if finite(r.m("achieved_rate")) else ")"
    bound = "" if g.judged else " (every step was server-bound, so this one is too)"
    if g.ratio < QUEUED:
        return (f"Corrected and uncorrected latency agree here: the largest gap was "
                f"{times(g.ratio)}, {r.impl}'s corrected p99 {fmt_ms(g.corrected)} ms "
                f"against a service-time p99 of {fmt_ms(g.service)} ms "
                f"{where[0].lower() + where[1:]}, so no step queued enough for a closed-loop "
                f"tool to hide it{bound}.")
    lag = r.m("send_lag_p99_ms")
    queue = r.m("peak_queue")
    waited = (f" (send lag p99 {fmt_ms(lag)} ms" if finite(lag) else "") + (
        f", up to {queue:,.0f} waiting)" if finite(lag) and finite(queue) and queue > 0
        else ")" if finite(lag) else "")
    return (f"{where}, {r.impl}'s corrected p99 was {fmt_ms(g.corrected)} ms while its "
            f"service-time p99 — what a closed-loop tool reports — was {fmt_ms(g.service)} ms: "
            f"{times(g.ratio)} less, because the requests it could not send on time waited in "
            f"its queue{waited}, and only latency measured from the intended send time counts "
            f"that wait{bound}.")


# --- server-bound steps ---------------------------------------------------------------------

def _span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{fmt_ms(lo)} ms" if fmt_ms(lo) == fmt_ms(hi) else f"{fmt_ms(lo)}–{fmt_ms(hi)} ms"


def bound_sentences(run: Run) -> list[str]:
    """How many steps were server-bound at each delay and why, with the machine's numbers; []
    when none was (or the file carries no evidence)."""
    out = []
    for delay in delays(run):
        steps = [r for r in run.open_rows if r.delay_ms == delay]
        bound = [r for r in steps if r.server_bound]
        if not bound:
            continue
        late = [r for r in bound if "late" in r.server.causes]
        text = (f"At {delay} ms, {len(bound)} of {len(steps)} "
                f"{'step was' if len(bound) == 1 else 'steps were'} server-bound "
                "(drawn hollow, not judged)")
        if late:
            lateness = [r.m("server_late_p99_ms") for r in late]
            if len(late) < len(bound):
                who = f" {len(late)} of them because"
            else:
                who = " in all of them" if len(bound) > 1 else ""
            text += (f";{who} the server's timers fired "
                     f"{_span(lateness)} late at p99 (median "
                     f"{fmt_ms(statistics.median(lateness))} ms), over the limit of "
                     f"max({results.SERVER_LATE_FLOOR_MS:g} ms, "
                     f"{results.SERVER_LATE_FRACTION:.0%} of {delay} ms) = "
                     f"{results.late_limit_ms(delay):g} ms")
        others = [c for c in ("cpu", "overflows") if any(c in r.server.causes for r in bound)]
        if others:
            text += "; " + ", ".join(
                f"{sum(c in r.server.causes for r in bound)} with "
                + ("the server's CPU at least 90% busy" if c == "cpu"
                   else "listen-queue overflows") for c in others)
        text += "."
        cpu = [r.m("server_cpu_util") for r in late if finite(r.m("server_cpu_util"))]
        if late and cpu and max(cpu) < results.SERVER_CPU_BOUND:
            server = machine.server_phrase(run.context) or "the server"
            n = machine.num_cpus(run.context)
            on = f" of a {n}-CPU machine" if n else ""
            lowest = min((ln.fraction(r) for ln in lines(run) for r in ln.steps
                          if r in late and finite(ln.fraction(r))), default=float("nan"))
            even = (f", including steps offering only {lowest:.0%} of a model's closed-loop "
                    "throughput" if finite(lowest) else "")
            text += (f" In those steps {server}{on} was at most {max(cpu):.0%} busy{even}: the "
                     "lateness is the machine's timer and scheduling jitter, not a saturated "
                     f"server, but a few ms of it is a large share of a {delay} ms delay, so "
                     "those steps measure the machine as much as the model.")
        out.append(text)
    note = machine.load_note(run.context)
    return out + ([note] if out and note else [])


def summary(run: Run) -> str | None:
    """The maximum sustainable rates in one sentence per delay, for the findings."""
    if not run.open_rows:
        return None
    parts = []
    for delay in delays(run):
        at = [ln for ln in lines(run) if ln.delay_ms == delay]
        found = [f"{ln.label} {rate(ln.best.offered)}"
                 + (f" ({share(ln.fraction(ln.best))})" if finite(ln.fraction(ln.best)) else "")
                 for ln in sorted((ln for ln in at if ln.best),
                                  key=lambda ln: -ln.best.offered)]
        unjudged = [ln.label for ln in at if ln.best is None and len(ln.bound) == len(ln.steps)]
        none = [ln.label for ln in at if ln.best is None and len(ln.bound) < len(ln.steps)]
        text = f"at {delay} ms (SLO {fmt_ms(at[0].slo_ms)} ms): " + (
            join_names(found) if found else "no model sustained any step")
        if none:
            text += f"; none in the sweep for {join_names(none)}"
        if unjudged:
            text += f"; not judged, every step server-bound: {join_names(unjudged)}"
        parts.append(text)
    return ("Open loop, the highest rate each model sustained (× its own closed-loop "
            "throughput): " + "; ".join(parts) + ".")
