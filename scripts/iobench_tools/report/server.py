"""Was the server the bottleneck? The rows that were server-bound (results.server_bound, the one
definition), which of them are server-heavy by design and why, in sentences computed from the
context, and why a model may read above the ceiling."""
from __future__ import annotations

from iobench_tools import results
from iobench_tools.gate.samples import OWN, TIMING, judged_metrics, metrics_text

from . import machine
from .document import Bullets, Paragraph, Section, Table
from .rows import CEILING, Row, Run, examples, finite, fmt, join_names
from .scale import BURST  # connections opened at once (N = C) from which a batch is a burst


def rule() -> str:
    """The definition, in words, from the constants that implement it."""
    return (f"A benchmark is server-bound when the server's CPUs were at least "
            f"{results.SERVER_CPU_BOUND:.0%} busy (`server_cpu_util`), its timers fired more than "
            f"max({results.SERVER_LATE_FLOOR_MS:g} ms, {results.SERVER_LATE_FRACTION:.0%} of the "
            "delay) late at p99 (`server_late_p99_ms`), or the kernel dropped connections from a "
            "full listen queue (`listen_overflows` > 0): there the server, not the model, set "
            "the pace.")


def by_design(r: Row) -> str:
    """Why a server-bound row was meant to load the server ('' when it was not): a zero-delay
    point bound by the server's CPU, or a burst of connections."""
    if r.delay_ms == 0 and "cpu" in r.server.causes:
        return "zero delay"
    if r.requests == r.concurrency >= BURST and not r.model.one_at_a_time:
        return f"burst of {r.concurrency:,} connections"
    return ""


def _are(n: int, noun: str) -> str:
    """'1 is a burst', '3 are bursts'."""
    return f"{n} is a {noun}" if n == 1 else f"{n} are {noun}s"


def _names(rs: list[Row]) -> str:
    return examples([r.name for r in rs])


def _zero_delay_sentence(ctx: dict, rs: list[Row]) -> str:
    server = machine.server_phrase(ctx) or "the server"
    c = machine.client_cpus(ctx)
    against = f" against the client's {machine.plural(c, 'CPU')}" if c else ""
    return (f"{_are(len(rs), 'zero-delay throughput point')}, server-heavy by design "
            f"({_names(rs)}): "
            "with no delay each answer is followed at once by the next request, so "
            f"{server}{against} work as fast as the client lets them, and the server's CPU, not "
            "the model, sets the pace.")


def _burst_sentence(ctx: dict, rs: list[Row]) -> str:
    threads = machine.server_threads(ctx)
    loops = (f"the server's {machine.plural(threads, 'accept loop')}" if threads
             else "the server")
    return (f"{_are(len(rs), 'burst')} of N = C ≥ {BURST:,} connections, server-heavy by "
            f"design ({_names(rs)}): every connection arrives at once at {loops}, so its listen "
            "queue and its timers are measured as much as the model.")


def _other_sentence(ctx: dict, rs: list[Row], alone: bool) -> str:
    text = ("None of them was meant to load the server" if alone
            else f"The other {len(rs)} {'was' if len(rs) == 1 else 'were'} not meant to load "
            "the server") + f" ({_names(rs)})"
    if any("overflows" in r.server.causes for r in rs):
        text += ("; the kernel's listen-overflow counter covers every listener on the machine, "
                 "so on a shared machine another program's overflows count too")
    note = machine.load_note(ctx)
    return text + "." + (f" {note}" if note else "")


def summary(run: Run) -> tuple[str, dict] | None:
    """The finding, one line: how many rows were server-bound and why, how many by design; or
    that the file cannot say. None when the run has no rows. explanation() says the rest, in the
    server-bound section."""
    if not run.rows:
        return None
    unjudged = [r for r in run.rows if not r.server.judged]
    if len(unjudged) == len(run.rows):
        return ("No benchmark could be checked for a server bottleneck: this results file "
                "predates the evidence (`server_cpu_util`, `listen_overflows`).",
                {"bound": [], "unjudged": len(unjudged)})
    bound = [r for r in run.rows if r.server_bound]
    facts = {"bound": [r.name for r in bound], "unjudged": len(unjudged),
             "by_design": [r.name for r in bound if by_design(r)]}
    missing = (f" {len(unjudged)} benchmark(s) carry no server evidence and were not checked: "
               f"{_names(unjudged)}." if unjudged else "")
    if not bound:
        return (f"No benchmark of {len(run.rows)} was server-bound: the server's CPUs stayed "
                f"under {results.SERVER_CPU_BOUND:.0%} busy, its timers on time and its listen "
                "queues never overflowed." + missing, facts)
    causes = {"cpu": "the server's CPU busy", "late": "the server's timers late",
              "overflows": "listen-queue overflows"}
    count = ", ".join(f"{sum(c in r.server.causes for r in bound)} with {text}"
                      for c, text in causes.items() if any(c in r.server.causes for r in bound))
    heavy = len(facts["by_design"])
    design = (f"; {heavy} of them server-heavy by design" if heavy
              else "; none of them was meant to load the server")
    return (f"{len(bound)} of {len(run.rows)} benchmarks "
            f"{'was' if len(bound) == 1 else 'were'} server-bound ({count}{design}): drawn "
            "hollow and left out of the findings, the ratios and the claims' verdicts; "
            "“Server-bound benchmarks” lists them and says why." + missing, facts)


def explanation(run: Run) -> list[str]:
    """Why the server set the pace, per kind of row: the zero-delay points and the bursts that
    load it by design (in the machine's words), and the others, with what the machine was
    doing. Empty when no row was server-bound."""
    bound = [r for r in run.rows if r.server_bound]
    zero = [r for r in bound if by_design(r) == "zero delay"]
    burst = [r for r in bound if by_design(r).startswith("burst")]
    other = [r for r in bound if not by_design(r)]
    return ([_zero_delay_sentence(run.context, zero)] if zero else []) + (
        [_burst_sentence(run.context, burst)] if burst else []) + (
        [_other_sentence(run.context, other, alone=len(other) == len(bound))] if other else [])


def section(run: Run) -> Section | None:
    bound = [r for r in run.ordered(run.rows) if r.server_bound]
    if not bound:
        return None
    return Section("server", "Server-bound benchmarks", [
        Paragraph(rule() + " Such a row is shown (hollow in the charts, marked in the tables) "
                  "but its timings are judged nowhere: not in the findings, the gap to the "
                  "ceiling or the claims, and not by the regression gate "
                  f"(scripts/compare.py leaves {metrics_text(TIMING)} unjudged there). The gate "
                  "still judges the client's own cost on it, which is the model's whoever set "
                  f"the pace ({metrics_text(OWN)}), and its failed requests; on every other "
                  "benchmark it judges the timings as well."),
        Bullets(explanation(run)),
        Table(["benchmark", "why", "server-heavy by design", "the regression gate judges"],
              [[r.name, r.server.why, by_design(r) or "no", gate_judges(r)] for r in bound])])


def gate_judges(r: Row) -> str:
    """What scripts/compare.py judges on server-bound row `r`: its own cost, failed requests."""
    return ", ".join(judged_metrics(r.name, bound=True) + ["errors"])


# --- above the ceiling ----------------------------------------------------------------------

def _busy(ctx: dict, wrk: Row) -> tuple[float, float] | None:
    """How busy wrk kept its own threads and the server, as fractions; None where unknown."""
    util, server, t = wrk.m("client_cpu_util"), wrk.m("server_cpu_util"), machine.row_threads(wrk)
    c = machine.client_cpus(ctx)
    if not (finite(util) and finite(server) and t and c):
        return None
    return util * c / t, server


def above_ceiling(run: Run, r: Row, wrk: Row, ceilings: list[Row]) -> str:
    """Why `r` did more req/s than the ceiling `wrk` at the same concurrency, from the evidence:
    wrk had fewer threads than the CPUs the model could use, wrk did more at a lower concurrency,
    wrk saturated neither itself nor the server. Never empty."""
    reasons = []
    t, cpus = results.wrk_threads(wrk.label), machine.row_cpus(r, run.context)
    if t and cpus and cpus > t:
        reasons.append(f"wrk ran `-t{t}`, {machine.plural(t, 'thread')}, where {r.impl}'s "
                       f"{machine.row_threads(r)} threads could keep {cpus} client CPUs busy")
    more = [w for w in ceilings if w.concurrency < wrk.concurrency
            and w.m("req_per_s") > wrk.m("req_per_s")]
    if more:
        best = max(more, key=lambda w: w.m("req_per_s"))
        reasons.append(f"{CEILING} itself did {fmt(best.m('req_per_s'), 0)} req/s at "
                       f"C = {best.concurrency}, more than here, so this measurement of it is low")
    busy = _busy(run.context, wrk)
    if busy and max(busy) < results.SERVER_CPU_BOUND:
        threads = machine.plural(machine.row_threads(wrk), "thread")
        reasons.append(f"{CEILING} kept neither its {threads} ({busy[0]:.0%} busy) nor the "
                       f"server ({busy[1]:.0%}) saturated, so it was no ceiling here: it "
                       "measured round trips, or something outside both held it back")
    if not reasons:
        reasons.append("neither was server-bound and wrk had a thread per CPU the model could "
                       "use: unexplained, so read it as run-to-run noise until it repeats")
    return "; ".join(reasons) + "."


def above_sentences(above: dict[tuple[str, int], tuple[float, str]]) -> list[str]:
    """One sentence per concurrency and reason: (model, C) -> (fraction, reason)."""
    grouped: dict[tuple[int, str], list[str]] = {}
    for (name, c), (fraction, why) in above.items():
        grouped.setdefault((c, why), []).append(f"{name} ({fraction:.2f})")
    return [f"† Above {CEILING} at C = {c}: {join_names(names)}, because {why}"
            for (c, why), names in sorted(grouped.items())]
