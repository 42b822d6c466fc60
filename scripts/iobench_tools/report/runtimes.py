"""The references grouped by runtime (the registry's `runtime`: python, node, go, or a client
added with --reference), each runtime's concurrent clients beside iobench's coroutine and
thread_pool at the same points: zero-delay throughput and CPU per request at the largest C they
all ran, and the makespan of N = C = 1,000 requests of 100 ms at once."""
from __future__ import annotations

from .document import Bullets, Paragraph, Section, Table
from .rows import HEADLINE_DELAY, Row, Run, fmt, fmt_seconds, positive

SCALE_N = 1000
COMPARED = ["coroutine", "thread_pool"]
NAMES = {"python": "Python", "node": "Node.js", "go": "Go", "command": "--reference"}


def _zero_delay(run: Run, names: list[str]) -> tuple[int | None, dict[str, Row]]:
    """The largest C at which every one of `names` has a plain zero-delay row, and those rows."""
    rows = [r for r in run.rows if r.delay_ms == 0 and r.plain and r.impl in names]
    shared = [c for c in {r.concurrency for r in rows}
              if all(any(r.impl == n and r.concurrency == c for r in rows) for n in names)]
    if not shared:
        return None, {}
    c = max(shared)
    return c, {r.impl: r for r in rows if r.concurrency == c}


def _scale(run: Run, names: list[str]) -> dict[str, Row]:
    return {r.impl: r for r in run.rows
            if r.impl in names and r.plain and r.delay_ms == HEADLINE_DELAY
            and r.requests == r.concurrency == SCALE_N and positive(r.makespan_s)}


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if positive(a) and positive(b) else "–"


def section(run: Run) -> Section | None:
    present = run.present()
    clients = [m for m in present if m.reference and not m.one_at_a_time
               and m.runtime not in ("", "wrk", "c++")]
    compared = [n for n in COMPARED if any(m.name == n for m in present)]
    if not clients or not compared:
        return None
    names = [m.name for m in clients] + compared
    c, zero = _zero_delay(run, names)
    scale = _scale(run, names)
    if not zero and not scale:
        return None
    base = compared[0]
    body = []
    models = [next(m for m in present if m.name == n) for n in compared]
    for m in models + clients:
        z, s = zero.get(m.name), scale.get(m.name)
        body.append([m.name,
                     NAMES.get(m.runtime, "C++ (iobench)" if not m.reference else m.runtime),
                     m.mechanism.replace("_", " ") or "–",
                     fmt(z.m("req_per_s")) if z else "–",
                     _ratio(z.m("req_per_s"), zero[base].m("req_per_s")) if z and base in zero
                     else "–",
                     fmt(z.m("cpu_us_per_req")) if z else "–",
                     fmt_seconds(s.makespan_s) + (" (server-bound)" if s.server_bound else "")
                     if s else "–",
                     _ratio(s.makespan_s, scale[base].makespan_s) if s and base in scale
                     else "–"])
    said = []
    for m in clients:
        z, s = zero.get(m.name), scale.get(m.name)
        parts = []
        if z and base in zero:
            parts.append(f"{fmt(z.m('req_per_s'))} req/s at zero delay, C = {c}, "
                         f"{_ratio(z.m('req_per_s'), zero[base].m('req_per_s'))} {base}'s, at "
                         f"{fmt(z.m('cpu_us_per_req'))} µs of CPU per request against "
                         f"{fmt(zero[base].m('cpu_us_per_req'))}")
        if s and base in scale and not s.server_bound and not scale[base].server_bound:
            parts.append(f"N = C = {SCALE_N:,} in {fmt_seconds(s.makespan_s)} against "
                         f"{base}'s {fmt_seconds(scale[base].makespan_s)}")
        if parts:
            said.append(f"{NAMES.get(m.runtime, m.runtime)} ({m.name}, "
                        f"{m.mechanism.replace('_', ' ') or 'its own way'}): "
                        + "; ".join(parts) + ".")
    blocks = [Paragraph("The question is asked in every runtime: threads, goroutines or an event "
                        f"loop? Each runtime's concurrent client beside {' and '.join(compared)}, "
                        "against the same server in the same run (ratios to "
                        f"{base}; the references time their batches themselves, and the harness "
                        "checks their figures against the kernel's and the server's)."),
              Table(["client", "runtime", "mechanism", f"req/s at zero delay, C = {c}"
                     if c else "req/s at zero delay", f"× {base}", "CPU µs/req",
                     f"N = C = {SCALE_N:,}, {HEADLINE_DELAY} ms", f"× {base}"], body)]
    if said:
        blocks.append(Bullets(said))
    return Section("runtimes", "Runtimes: each language's concurrent client", blocks)
