"""The report's sections, each built once as data (document.Section) from a Run and its charts."""
from __future__ import annotations

import math
from pathlib import Path

from . import answer
from . import findings as fnd
from . import machine, matrix, open_chart, runtimes, scale, server, tls, work
from .document import Bullets, Document, Figure, Paragraph, Section, Table
from .rows import (CEILING, CLAIM_TOLERANCE, Row, Run, fmt, fmt_seconds, join_names,
                   one_at_a_time_names)


def findings_section(run: Run) -> Section | None:
    found = fnd.findings(run)
    if not found:
        return None
    return Section("findings", "What the numbers say", [Bullets([f.text for f in found])])


def chart_section(fig: Figure) -> Section:
    return Section(fig.stem, fig.title, [fig])


def claims_section(run: Run) -> Section | None:
    """The claims, one row each with its prediction and verdict; then the measured makespans,
    a row per model and a column per claim (13 models across would not fit a window)."""
    claims = fnd.claims(run)
    if not claims:
        return None
    names = [m.name for m in run.models if any(m.name in c.measured for c in claims)]
    verdicts = Table(["claim", "predicted at once", "predicted one after another", "verdict"],
                     [[c.claim, fmt_seconds(c.at_once), fmt_seconds(c.one_by_one), c.verdict]
                      for c in claims])
    measured = Table(["model"] + [claim_label(i) for i in range(len(claims))],
                     [[n] + [fmt_seconds(c.measured.get(n, math.nan))
                             + (" (server-bound)" if n in c.bound else "") for c in claims]
                      for n in names])
    return Section("claims", "The blog posts' claims", [Paragraph(
        "Each claim's prediction comes from the ideal model (all at once: the slowest request; "
        "one after another: their sum); a claim holds for a model when its measured makespan is "
        f"within {CLAIM_TOLERANCE:.0%} of the prediction for how that model runs; a "
        "server-bound makespan is the server's, so it is shown but not judged."), verdicts,
        Paragraph("The measured makespans (claim 1 is the first row above)."), measured])


def claim_label(i: int) -> str:
    """The column of the i-th claim (from 0) in the table of measured makespans."""
    return f"claim {i + 1}"


def _gap_cell(gap: fnd.Gap, name: str, c: int) -> str:
    if (name, c) not in gap.req_per_s:
        return "–"
    rps = fmt(gap.req_per_s[(name, c)], 0)
    if (name, c) in gap.bound:
        return f"server-bound ({rps})"
    if (name, c) not in gap.fraction:
        return f"– ({rps})"  # the ceiling was server-bound there
    mark = "†" if (name, c) in gap.above else ""
    return f"{gap.fraction[(name, c)]:.2f}{mark} ({rps})"


def _ceiling_cell(gap: fnd.Gap, c: int) -> str:
    t = gap.threads.get(c)
    rps = fmt(gap.req_per_s[(CEILING, c)], 0) + (f", -t{t}" if t else "")
    return f"server-bound ({rps})" if (CEILING, c) in gap.bound else f"1.00 ({rps})"


def no_ceiling_remedy(ctx: dict) -> str:
    """What would give a ceiling where the load generator was server-bound: a server that
    outruns the client, with more CPUs here or on a host of its own."""
    server_at = machine.server_phrase(ctx)
    return ("A ceiling there needs a server that outruns the client"
            + (f" ({server_at} could not)" if server_at else "") + ": more server CPUs, each an "
            "event loop (`iobench --server-cpus LIST`, on a machine with more cores than this "
            "one), or the server on a host of its own (`iobench --server URL`; the user guide's "
            "“The server on its own host”).")


def gap_section(run: Run) -> Section | None:
    gap = fnd.gap(run)
    if gap is None:
        return None
    rows = [[name] + [_gap_cell(gap, name, c) for c in gap.concurrency] for name in gap.models]
    rows.append([CEILING] + [_ceiling_cell(gap, c) for c in gap.concurrency])
    serial = one_at_a_time_names([m for m in run.models if m.name in gap.models])
    threads = sorted({t for t in gap.threads.values() if t})
    command = (f"`wrk -t{threads[0]} -cC`" if len(threads) == 1
               else "`wrk -tT -cC`, T in its row" if threads else "`wrk -cC`")
    cpus = machine.client_cpus(run.context)
    if cpus and threads and all(t == min(cpus, c) for c, t in gap.threads.items() if t):
        command += ": a thread per client CPU, at most C"
    text = (f"Zero-delay throughput of each model as a fraction of {CEILING}'s ({command}) at "
            "the same concurrency, against the same server in the same run; req/s in brackets."
            + (f" One request at a time, so at C = 1 only: {serial}." if serial else "")
            + " A server-bound row gives no ratio: the server, not the model, set its pace.")
    blocks = [Paragraph(text), Table(["model"] + [f"C = {c}" for c in gap.concurrency], rows)]
    bound_ceiling = [c for c in gap.concurrency if (CEILING, c) in gap.bound]
    notes = server.above_sentences(gap.above)
    if bound_ceiling:
        notes.append(f"At C = {join_names([str(c) for c in bound_ceiling])} {CEILING} itself "
                     "was server-bound, so that column has no ceiling to divide by. " +
                     no_ceiling_remedy(run.context))
    if gap.above and machine.load_note(run.context):
        notes.append(machine.load_note(run.context))
    if notes:
        blocks.append(Bullets(notes))
    return Section("gap", "Gap to the ceiling", blocks)


def models_section(run: Run) -> Section:
    present = {m.name for m in run.present()}
    table = Table(["model", "kind", "library", "mechanism", "interface", "requests", "baseline",
                   "in this run", "summary"],
                  [[m.name, m.kind, m.library or "–", m.mechanism.replace("_", " ") or "–",
                    m.interface or "–", "one at a time" if m.one_at_a_time else "concurrent",
                    "yes" if m.baseline else "", "yes" if m.name in present else "no",
                    m.summary] for m in run.models])
    blocks = [table]
    if "models" not in run.context:
        blocks.insert(0, Paragraph("This results file predates the model registry in its "
                                   "context: kinds and roles are inferred from the names."))
    return Section("models", "Models", blocks)


RESULT_COLUMNS = [("benchmark", None), ("makespan", None), ("req/s", "req_per_s"),
                  ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("max ms", "max_ms"),
                  ("efficiency", "efficiency"), ("CPU µs/req", "cpu_us_per_req"),
                  ("peak RSS MiB", "peak_rss_mib"), ("threads", "threads"), ("errors", "errors"),
                  ("server in flight", "server_max_in_flight"),
                  ("server late p99 ms", "server_late_p99_ms"), ("server-bound", None)]
WHOLE = {"req_per_s", "threads", "errors", "server_max_in_flight"}


def result_cells(r: Row) -> list[str]:
    cells = [r.name, fmt_seconds(r.makespan_s)]
    for _, key in RESULT_COLUMNS[2:-1]:
        if key == "efficiency" and r.delay_ms == 0:
            cells.append("–")  # nothing to overlap at zero delay
        else:
            cells.append(fmt(r.m(key), 0 if key in WHOLE else 2))
    # Why the server set the pace; – where the row carries no evidence to tell.
    return cells + [r.server.why if r.server.judged else "–"]


def results_section(run: Run) -> Section | None:
    if not run.rows:
        return None
    rows = sorted(run.rows, key=lambda r: (r.delay_ms, r.requests, r.concurrency, r.bytes,
                                           not r.keep_alive, run.rank(r.impl)))
    return Section("results", "All results",
                   [Table([h for h, _ in RESULT_COLUMNS], [result_cells(r) for r in rows])])


CONTEXT_KEYS = [("date", "date"), ("host_name", "host"), ("executable", "executable"),
                ("num_cpus", "CPUs"), ("cpu_model", "CPU model"), ("mhz_per_cpu", "MHz per CPU"),
                ("cpu_scaling_enabled", "CPU scaling"), ("load_avg", "load average"),
                ("library_build_type", "Google Benchmark library build (Debian's says 'debug'; "
                 "it affects the library's bookkeeping, not the wall-clock batches measured "
                 "here)"), ("iobench_suite", "suite"),
                ("git_sha", "git sha"), ("build_type", "build type"),
                ("boost_version", "Boost"), ("libcurl_version", "libcurl"),
                ("kernel", "kernel"), ("cores", "cores"), ("server", "server"),
                ("server_cpus", "server CPUs"), ("client_cpus", "client CPUs"),
                ("server_threads", "server threads"), ("pinning", "pinning")]


def machine_section(ctx: dict) -> Section:
    rows = []
    for key, label in CONTEXT_KEYS:
        if key in ctx:
            v = ctx[key]
            if isinstance(v, list):
                v = ", ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in v)
            rows.append([label, str(v)])
    caches = ctx.get("caches")
    if isinstance(caches, list) and caches:
        rows.append(["caches", ", ".join(
            f"L{c.get('level')} {c.get('type', '')} {int(c.get('size', 0)) // 1024} KiB"
            for c in caches if isinstance(c, dict))])
    return Section("machine", "Machine and build",
                   [Paragraph(" ".join(machine.partition(ctx))), Table(["", ""], rows)])


def report(run: Run, figures: list[Figure]) -> Document:
    """The whole report of one run."""
    suite = run.context.get("iobench_suite", "?")
    special = {scale.STEM: lambda f: scale.section(run, f),
               open_chart.STEM: lambda f: open_chart.section(run, f),
               work.STEM: lambda f: work.section(run, f)}
    sections = [answer.section(run), findings_section(run)] + [
        special.get(f.stem, chart_section)(f) for f in figures] + [
        None if any(f.stem == open_chart.STEM for f in figures)
        else open_chart.section(run, None),  # the open loop's numbers, even without a chart
        None if any(f.stem == work.STEM for f in figures) else work.section(run, None),
        tls.section(run),
        claims_section(run), matrix.section(run), runtimes.section(run), gap_section(run),
        server.section(run),
        models_section(run),
        results_section(run), machine_section(run.context)]
    return Document(
        f"iobench report — suite `{suite}`",
        ["Every model fetches from one mock HTTP server whose delay stands in for a slow "
         "network; the references (dashed in the charts) ran against the same server in the "
         "same run. Every number below was measured in this run; the charts are PNG (and SVG "
         "next to them)."],
        [s for s in sections if s is not None], f"Source: `{run.source}`")


def history_page(figures: list[Figure], db: Path) -> Document:
    """The page of --history without a results file."""
    return Document("iobench history", [], [chart_section(f) for f in figures],
                    f"Source: `{db}`")
