"""Reading iobench results files (Google Benchmark JSON), for report.py, compare.py and
history.py: one place for the validation, the name pattern, the counters, the time units and the
model registry."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Iterable, Iterator

IMPL_PATTERN = r"[A-Za-z0-9_.-]+"
# The rule IMPL_PATTERN holds a model's name to, in words, for messages.
IMPL_RULE = "ASCII letters, digits, '_', '.' and '-' (as in thread_pool)"
# fetch/<impl>/requests:<N>/delay_ms:<L>/concurrency:<C>/bytes:<B>[/close] (docs/results.md)
NAME_RE = re.compile(
    rf"^fetch/(?P<impl>{IMPL_PATTERN})/requests:(?P<n>\d+)/delay_ms:(?P<l>\d+)"
    r"/concurrency:(?P<c>\d+)/bytes:(?P<b>\d+)(?P<close>/close)?$")
# The same batch with work per response: /work_us:<W> (CPU) and/or /block_us:<B> (a blocking
# sleep) after each complete response (docs/results.md). Not plain batches: entries() and runs()
# skip them, so no chart, ratio or gate mixes them with the rows they would share fields with;
# work_entries() reads them.
WORK_RE = re.compile(
    rf"^fetch/(?P<impl>{IMPL_PATTERN})/requests:(?P<n>\d+)/delay_ms:(?P<l>\d+)"
    r"/concurrency:(?P<c>\d+)/bytes:(?P<b>\d+)(?P<close>/close)?"
    r"(?=/work_us:|/block_us:)(?:/work_us:(?P<w>\d+))?(?:/block_us:(?P<bl>\d+))?$")
# The same batch over https, to the suite's TLS mock_server: /tls:1 (docs/results.md). Not plain
# batches either (a handshake per connection is not what the plain rows measure): entries() and
# runs() skip them; tls_entries() reads them.
TLS_RE = re.compile(
    rf"^fetch/(?P<impl>{IMPL_PATTERN})/requests:(?P<n>\d+)/delay_ms:(?P<l>\d+)"
    r"/concurrency:(?P<c>\d+)/bytes:(?P<b>\d+)(?P<close>/close)?/tls:1$")
# open/<impl>/rate:<R>/delay_ms:<L>/concurrency:<C> (docs/results.md): one open-loop step, R
# requests per second sent on a schedule whether or not the earlier ones are done. These rows are
# no batch: entries() and runs() skip them (so does the gate); open_entries() reads them.
OPEN_RE = re.compile(
    rf"^open/(?P<impl>{IMPL_PATTERN})/rate:(?P<rate>\d+)/delay_ms:(?P<l>\d+)"
    r"/concurrency:(?P<c>\d+)$")

# The counters every benchmark reports (docs/results.md, "Counters of a batch row").
COUNTERS = ["req_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "efficiency", "cpu_us_per_req",
            "peak_rss_mib", "threads", "errors", "server_max_in_flight", "server_late_p99_ms"]

# The counters of an open-loop row (docs/results.md; named like iobench-fetch's JSON keys):
# latency is corrected (from the intended send time), service time is not (from the actual send).
PERCENTILES = ["p50", "p90", "p99", "p999", "max"]
OPEN_COUNTERS = (["target_rate", "achieved_rate", "goodput", "scheduled", "sent", "succeeded",
                  "failed", "incomplete", "late_sends", "peak_queue", "stopped_early", "errors",
                  "rate_fraction", "closed_loop_rate", "duration_s", "server_max_in_flight",
                  "server_late_p99_ms"]
                 + [f"{what}_{p}_ms" for what in ("latency", "service", "send_lag")
                    for p in PERCENTILES])

MS_PER_UNIT = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


class ResultsError(Exception):
    """The file cannot be used; the message is the one line a user sees."""


class NoBenchmarks(ResultsError):
    """The file is empty or holds no iobench benchmark: what a run that matched nothing writes."""


class OpenLoopOnly(NoBenchmarks):
    """The file holds open-loop steps and no closed-loop batch (e.g. a run of suite open)."""


def read(path: Path) -> dict:
    """The parsed results file, checked to be a Google Benchmark document."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ResultsError(f"cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ResultsError(f"{path} is not text (not JSON): {e.reason} at byte {e.start}") from e
    if not text.strip():
        raise NoBenchmarks(f"{path} is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not JSON: {e.msg} at line {e.lineno}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ResultsError(f"{path} is not a Google Benchmark results file (no 'benchmarks' list)")
    _check_rows(doc, path)
    return doc


def _excerpt(text: str, limit: int = 160) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _check_rows(doc: dict, path: Path) -> None:
    """ResultsError on a row no consumer could read as it is meant: an iobench name (fetch/ or
    open/) that breaks the pattern, which would be left out unseen; or one repetition of one
    benchmark twice, which would be counted twice. A file merged by an older merge_runs.py (its
    context says `merged_runs` but its rows carry no `merged_run`) may hold each repetition once
    per run."""
    ctx = doc.get("context")
    runs = ctx.get("merged_runs") if isinstance(ctx, dict) else None
    untagged_limit = int(runs) if is_number(runs) and runs >= 1 else 1
    seen: dict[tuple, int] = {}
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or b.get("run_type", "iteration") != "iteration":
            continue
        name = str(b.get("run_name") or b.get("name", ""))
        if name.startswith(("fetch/", "open/")) and not any(
                p.match(name) for p in (NAME_RE, OPEN_RE, WORK_RE, TLS_RE)):
            raise ResultsError(
                f"{path}: benchmark {_excerpt(name)} breaks the iobench name pattern "
                "fetch/<model>/requests:N/delay_ms:L/concurrency:C/bytes:B[/close]"
                "[/tls:1 | /work_us:W][/block_us:B] (or "
                f"open/<model>/rate:R/delay_ms:L/concurrency:C), a <model> being {IMPL_RULE}")
        rep, run = b.get("repetition_index"), b.get("merged_run")
        if not is_number(rep):
            continue
        key = (name, run, rep)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > (untagged_limit if run is None else 1):
            where = f"repetition {int(rep) + 1}" + (
                f" of merged run {int(run) + 1}" if is_number(run) else "")
            raise ResultsError(
                f"{path}: {name} has {where} twice: each repetition is one row, so the second "
                "would be counted as another measurement (two files pasted together? "
                "scripts/merge_runs.py merges runs and keeps them apart)")


def _iterations(doc: dict, pattern: re.Pattern) -> Iterator[tuple[str, dict]]:
    """(name, entry) of every repetition whose name matches `pattern`; aggregates (mean,
    median, ...) are skipped since every consumer recomputes them."""
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or b.get("run_type", "iteration") != "iteration":
            continue
        name = str(b.get("run_name") or b.get("name", ""))
        if pattern.match(name):
            yield name, b


def entries(doc: dict, path: Path) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every repetition of an iobench closed-loop benchmark (a batch, NAME_RE),
    those that reported an error (`error_occurred`) included. Open-loop rows (OPEN_RE) are not
    batches and are skipped. Raises NoBenchmarks when the file has no batch at all."""
    found = False
    for name, b in _iterations(doc, NAME_RE):
        found = True
        yield name, b
    if not found:
        if any(True for _ in tls_entries(doc)):
            raise NoBenchmarks(f"{path} has only batches over https (.../tls:1), no plain "
                               "batch (fetch/<impl>/requests:N/...)")
        if any(True for _ in work_entries(doc)):
            raise NoBenchmarks(f"{path} has only batches with work or a block per response "
                               "(.../work_us:W, .../block_us:B), no plain batch "
                               "(fetch/<impl>/requests:N/...)")
        if any(True for _ in open_entries(doc)):
            raise OpenLoopOnly(f"{path} has only open-loop benchmarks (open/<impl>/rate:R/...), "
                               "no closed-loop batch (fetch/<impl>/requests:N/...)")
        raise NoBenchmarks(f"{path} has no iobench benchmarks "
                           "(names like fetch/<impl>/requests:N/...)")


def open_entries(doc: dict) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every repetition of an open-loop step (OPEN_RE), those that reported an
    error included; none (no exception) when the file has no such row."""
    return _iterations(doc, OPEN_RE)


def work_entries(doc: dict) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every repetition of a batch with work or a block per response (WORK_RE),
    those that reported an error included; none (no exception) when the file has no such row."""
    return _iterations(doc, WORK_RE)


def tls_entries(doc: dict) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every repetition of a batch over https (TLS_RE), those that reported an
    error included; none (no exception) when the file has no such row."""
    return _iterations(doc, TLS_RE)


def runs(doc: dict, path: Path) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every repetition of an iobench benchmark that ran (see entries())."""
    for name, b in entries(doc, path):
        if not b.get("error_occurred"):
            yield name, b


def errored(doc: dict, path: Path) -> dict[str, str]:
    """name -> error message of the benchmarks with a repetition that reported an error."""
    out: dict[str, str] = {}
    for name, b in entries(doc, path):
        if b.get("error_occurred"):
            out.setdefault(name, str(b.get("error_message") or "no message"))
    return out


def is_number(v) -> bool:
    """A JSON number (not a boolean, which Python takes for an int)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def nonfinite(entry: dict) -> list[str]:
    """The keys of `entry` whose values are NaN or infinite."""
    return [k for k, v in entry.items() if is_number(v) and not math.isfinite(v)]


def ms_per_unit(entry: dict) -> float | None:
    """Milliseconds per unit of the entry's times; None when `time_unit` is missing or unknown."""
    return MS_PER_UNIT.get(entry.get("time_unit"))


def makespan_ms(entry: dict) -> float | None:
    """The batch time of one repetition, in ms; None when it is missing, not a finite number, or
    in a unit this script does not know."""
    t, unit = entry.get("real_time"), ms_per_unit(entry)
    if not is_number(t) or not math.isfinite(t) or unit is None:
        return None
    return float(t) * unit


# wrk runs for a duration, so its row's label says how many requests it sent (bench_main.cpp).
_WRK_LABEL = re.compile(r"^wrk .*: (?P<sent>\d+) requests$")


def requests_per_repetition(name: str, entry: dict) -> int | None:
    """How many requests one repetition sent: what a wrk row's label says, else N (from the name)
    per iteration. None when the entry does not say how many iterations it ran."""
    wrk = _WRK_LABEL.match(str(entry.get("label", "")))
    if wrk:
        return int(wrk["sent"])
    g = NAME_RE.match(name)
    iterations = entry.get("iterations")
    if not g or not is_number(iterations) or not 1 <= iterations < 1e15:
        return None
    return int(g["n"]) * int(iterations)


# --- the model registry ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Model:
    """One entry of the registry iobench writes into the context as `models`."""
    name: str
    kind: str = "model"          # "model" (a fetcher) or "reference" (Python children, wrk)
    one_at_a_time: bool = False  # runs one request at a time whatever the concurrency asked
    baseline: bool = False       # the denominator of speedup_vs_sequential
    https: bool = False          # speaks https (False where the file predates the flag)
    summary: str = ""
    # The factors (docs/models.md); "" where the file predates them.
    library: str = ""            # whose HTTP code: libcurl, beast, own, or a reference's
    mechanism: str = ""          # one_at_a_time, thread_per_request, event_loop, ..._per_core
    interface: str = ""          # blocking, epoll, io_uring
    # The language and runtime: c++ (the models), python, node, go, command (--reference), wrk;
    # "" where the file predates it.
    runtime: str = ""

    @property
    def reference(self) -> bool:
        return self.kind == "reference"


# What was known before results files carried the registry: the four fetchers in registry order,
# then the references; sequential is the baseline; sequential and py_sequential take one request
# at a time.
_FALLBACK_MODELS = ["sequential", "thread_pool", "coroutine", "curl_multi"]
_FALLBACK_REFERENCES = ["py_asyncio", "py_threads", "py_sequential", "wrk"]
_FALLBACK_ONE_AT_A_TIME = {"sequential", "py_sequential"}
_FALLBACK_BASELINE = "sequential"


def fallback_models(names: Iterable[str]) -> list[Model]:
    """The registry of a results file written before the registry existed: today's knowledge,
    with any other name seen (in order of first appearance) taken for a model."""
    names = list(dict.fromkeys(names))
    known = set(_FALLBACK_MODELS) | set(_FALLBACK_REFERENCES)
    order = ([(n, "model") for n in _FALLBACK_MODELS]
             + [(n, "model") for n in names if n not in known]
             + [(n, "reference") for n in _FALLBACK_REFERENCES])
    return [Model(name=n, kind=kind, one_at_a_time=n in _FALLBACK_ONE_AT_A_TIME,
                  baseline=n == _FALLBACK_BASELINE) for n, kind in order]


def parse_models(raw, names: Iterable[str] = ()) -> list[Model]:
    """The registry from the context's `models` value (a JSON array serialized as a string, or
    already parsed), or the fallback when it is absent (None); completed with `names`, the
    models seen in the benchmarks."""
    if raw is None:
        return fallback_models(names)
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as e:
        raise ResultsError(f"context 'models' is not JSON: {e.msg}") from e
    if not isinstance(entries, list):
        raise ResultsError("context 'models' is not a JSON array")
    out = []
    for e in entries:
        if not isinstance(e, dict):
            raise ResultsError(f"context 'models': entry {len(out) + 1} is a "
                               f"{type(e).__name__}, not an object with a name")
        if "name" not in e:
            raise ResultsError(f"context 'models': entry {len(out) + 1} has no name")
        if not re.fullmatch(IMPL_PATTERN, str(e["name"])):
            raise ResultsError(f"context 'models': entry {len(out) + 1} has the name "
                               f"{_excerpt(str(e['name']), 60)}: a model's name is "
                               f"{IMPL_RULE}")
        if e.get("kind", "model") not in ("model", "reference"):
            raise ResultsError(f"context 'models': {e['name']} has unknown kind {e['kind']!r}")
        out.append(Model(name=e["name"], kind=e.get("kind", "model"),
                         one_at_a_time=bool(e.get("one_at_a_time", False)),
                         baseline=bool(e.get("baseline", False)),
                         https=bool(e.get("https", False)),
                         summary=str(e.get("summary", "")),
                         library=str(e.get("library", "")),
                         mechanism=str(e.get("mechanism", "")),
                         interface=str(e.get("interface", "")),
                         runtime=str(e.get("runtime", ""))))
    if len({m.name for m in out}) != len(out):
        raise ResultsError("context 'models' names a model twice")
    if sum(m.baseline for m in out) > 1:
        raise ResultsError("context 'models' flags more than one baseline")
    return complete(out, names)


def complete(registry: list[Model], names: Iterable[str]) -> list[Model]:
    """The registry with the names it lacks appended as models, so that nothing is dropped."""
    listed = {m.name for m in registry}
    return registry + [Model(name=n) for n in dict.fromkeys(names) if n not in listed]


def models(doc: dict) -> list[Model]:
    """The results' model registry in registry order (models first, then references)."""
    ctx = doc.get("context")
    raw = ctx.get("models") if isinstance(ctx, dict) else None
    names = []
    for b in doc.get("benchmarks", []):
        name = str(b.get("run_name") or b.get("name", "")) if isinstance(b, dict) else ""
        g = next((m for p in (NAME_RE, OPEN_RE, WORK_RE, TLS_RE) if (m := p.match(name))), None)
        if g:
            names.append(g["impl"])
    return parse_models(raw, names)


def baseline(registry: list[Model]) -> str | None:
    """The name of the model flagged baseline, if any."""
    return next((m.name for m in registry if m.baseline), None)


# --- was the server the bottleneck? -----------------------------------------------------------

# The evidence each row carries since the CPU partition (docs/results.md,
# "Counters of a batch row"); older results files lack them.
EVIDENCE = ["server_cpu_util", "client_cpu_util", "listen_overflows"]
# A row is server-bound when one of these holds (docs/results.md): the server's CPUs were this busy,
SERVER_CPU_BOUND = 0.9
# its timers fired later at p99 than max(this floor, this fraction of the delay),
SERVER_LATE_FLOOR_MS = 1.0
SERVER_LATE_FRACTION = 0.05
# or the kernel dropped connections because a listen queue was full (listen_overflows > 0).


@dataclasses.dataclass(frozen=True)
class ServerBound:
    """Whether a row's server was its bottleneck, and why. `reasons` has one phrase per rule that
    held (empty: not server-bound); `missing` names the evidence the row lacks. A row with none
    of the new counters (an older results file) is not judged: `judged` is False."""
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    judged: bool = True
    causes: tuple[str, ...] = ()  # "cpu", "late", "overflows": the rules that held

    @property
    def bound(self) -> bool:
        return bool(self.reasons)

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def late_limit_ms(delay_ms: float) -> float:
    """How late the server's timers may fire at p99 before the row is server-bound."""
    return max(SERVER_LATE_FLOOR_MS, SERVER_LATE_FRACTION * delay_ms)


def server_bound(delay_ms: float, counters: dict) -> ServerBound:
    """The one definition of a server-bound row, from its delay and its counters (one
    repetition's, or the medians of several). Values that are no finite number count as absent."""
    def value(key: str) -> float | None:
        v = counters.get(key)
        return float(v) if is_number(v) and math.isfinite(v) else None

    cpu, late, dropped = (value(k) for k in ("server_cpu_util", "server_late_p99_ms",
                                             "listen_overflows"))
    missing = tuple(k for k in ("server_cpu_util", "listen_overflows") if value(k) is None)
    if len(missing) == 2:
        return ServerBound(missing=missing, judged=False)
    found = []
    if cpu is not None and cpu >= SERVER_CPU_BOUND:
        found.append(("cpu", f"server CPU {cpu:.0%} busy (at least {SERVER_CPU_BOUND:.0%})"))
    limit = late_limit_ms(delay_ms)
    if late is not None and late > limit:
        found.append(("late", f"server timers {late:.1f} ms late at p99 (over {limit:g} ms)"))
    if dropped is not None and dropped > 0:
        found.append(("overflows", f"{dropped:,.0f} listen-queue overflow(s)"))
    return ServerBound(reasons=tuple(r for _, r in found), missing=missing,
                       causes=tuple(c for c, _ in found))


# --- the machine, as the context describes it ------------------------------------------------

def cpu_count(cpu_list) -> int | None:
    """How many CPUs a Linux cpu-list string names ("0", "0-7", "0,2-3"); None for anything else
    ("all (not pinned)", "", a missing key)."""
    if not isinstance(cpu_list, str) or not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*",
                                                         cpu_list.strip()):
        return None
    n = 0
    for part in cpu_list.strip().split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1 if int(hi or lo) >= int(lo) else 0
    return n or None


_WRK_THREADS = re.compile(r"^wrk -t(?P<t>\d+) ")


def wrk_threads(label) -> int | None:
    """The -t of a wrk row's label ("wrk -t4 -c64 -d1s: ... requests")."""
    g = _WRK_THREADS.match(str(label or ""))
    return int(g["t"]) if g else None
