"""The machine as the results' context describes it: how many CPUs the server and the client had,
how many threads each model could run on them, how busy the machine was, and the sentences the
report says about it. Nothing here is assumed: what the context does not give is not said."""
from __future__ import annotations

from iobench_tools import results

from .rows import Row, finite, join_names

UNPINNED = "all"  # how iobench writes an unpinned side: "all (not pinned)"


def plural(n, noun: str) -> str:
    """'1 server thread', '4 server threads' (n may be the context's string)."""
    return f"{n} {noun}" + ("" if str(n) == "1" else "s")


def cpus_named(cpu_list: str) -> str:
    """'CPU 1', 'CPUs 0-7' for a cpu-list string."""
    return f"CPU {cpu_list}" if results.cpu_count(cpu_list) == 1 else f"CPUs {cpu_list}"


def num_cpus(ctx: dict) -> int | None:
    n = ctx.get("num_cpus")
    return int(n) if results.is_number(n) and n >= 1 else None


def _side(ctx: dict, key: str) -> int | None:
    value = ctx.get(key)
    n = results.cpu_count(value)
    if n is None and isinstance(value, str) and value.startswith(UNPINNED):
        return num_cpus(ctx)
    return n


def client_cpus(ctx: dict) -> int | None:
    """The CPUs the client side could run on: its cpu-list's, or (unpinned, or a file older
    than the partition) the machine's."""
    return _side(ctx, "client_cpus") if "client_cpus" in ctx else num_cpus(ctx)


def server_cpus(ctx: dict) -> int | None:
    """The CPUs the mock server could run on; None where unknown (an external server)."""
    return _side(ctx, "server_cpus")


def external(ctx: dict) -> bool:
    """The server ran elsewhere (iobench --server): iobench writes its CPUs as ''."""
    return ctx.get("server_cpus") == ""


def server_threads(ctx: dict) -> str:
    v = ctx.get("server_threads")
    return str(v) if v not in (None, "") else ""


def machine_phrase(ctx: dict) -> str:
    """How client and server shared the machine, from the context; '' when it does not say."""
    parts = []
    if "server_cpus" in ctx and "client_cpus" in ctx:
        server = "an external server" if external(ctx) else f"server CPUs {ctx['server_cpus']}"
        parts.append(f"{server}, client CPUs {ctx['client_cpus']}")
    elif num_cpus(ctx):
        parts.append(f"client and server shared the machine's {num_cpus(ctx)} CPUs")
    if server_threads(ctx):
        parts.append(plural(server_threads(ctx), "server thread"))
    return "; ".join(parts)


def server_phrase(ctx: dict) -> str:
    """'the server's 1 event-loop thread on CPU 0' ('' when the context does not say)."""
    threads = server_threads(ctx)
    where = ("" if external(ctx) or results.cpu_count(ctx.get("server_cpus")) is None
             else f" on {cpus_named(ctx['server_cpus'])}")
    if not threads:
        return f"the server{where}" if where else ""
    return f"the server's {plural(threads, 'event-loop thread')}{where}"


def load_note(ctx: dict) -> str:
    """A sentence when the machine was busier than its CPUs when the run started, else ''."""
    load, n = ctx.get("load_avg"), num_cpus(ctx)
    if not isinstance(load, list) or not load or not finite(load[0]) or not n or load[0] <= n:
        return ""
    return (f"The machine was busy when the run started: load average {load[0]:.1f} over the "
            f"last minute on {plural(n, 'CPU')}.")


def partition(ctx: dict) -> list[str]:
    """Where the server and the client ran, as sentences for the machine section."""
    n = num_cpus(ctx)
    of_n = f" of the machine's {n}" if n else ""
    if "client_cpus" not in ctx:
        return ["This results file predates the CPU partition: it does not say where the server "
                "and the client ran" + (f" on the machine's {n} CPUs" if n else "") + "."]
    c = client_cpus(ctx)
    client = ("the client side (every model, the Python references and wrk) on "
              f"{cpus_named(ctx['client_cpus'])}" + (f" ({plural(c, 'CPU')}{of_n})" if c else ""))
    threads = server_threads(ctx)
    with_threads = f" with {plural(threads, 'event-loop thread')}" if threads else ""
    if external(ctx):
        out = [f"The server was external ({ctx.get('server', 'iobench --server')}){with_threads}, "
               f"so its CPUs are not this machine's; {client}."]
    elif str(ctx.get("server_cpus", "")).startswith(UNPINNED) \
            or str(ctx["client_cpus"]).startswith(UNPINNED):
        out = ["Server and client were not pinned: they shared"
               + (f" the machine's {n} CPUs" if n else " the machine's CPUs")
               + (f", the server{with_threads}" if threads else "") + "."]
    else:
        s = server_cpus(ctx)
        out = [f"The mock server ran on {cpus_named(ctx.get('server_cpus'))}"
               + (f" ({plural(s, 'CPU')})" if s and s > 1 else "") + f"{with_threads}; {client}."]
    if ctx.get("pinning"):
        out.append(f"Pinning: {ctx['pinning']}.")
    return out + ([load_note(ctx)] if load_note(ctx) else [])


# --- what a model could use -----------------------------------------------------------------

def row_threads(r: Row) -> int | None:
    """The threads a row ran on: wrk's -t, else the `threads` counter."""
    t = results.wrk_threads(r.label)
    if t is None and finite(r.m("threads")) and r.m("threads") >= 1:
        t = int(r.m("threads"))
    return t


def row_cpus(r: Row, ctx: dict) -> int | None:
    """How many of the client's CPUs the row's model could keep busy: its threads, capped at the
    client's CPUs; None where either is unknown."""
    t, c = row_threads(r), client_cpus(ctx)
    return min(t, c) if t and c else None


def core_count(ctx: dict, ranked: list[Row]) -> str:
    """One sentence on whether a zero-delay ranking of `ranked` is a property of the core count:
    the CPUs each could use, from its threads and the client's CPUs ('' when unknown)."""
    c = client_cpus(ctx)
    cpus = {r.impl: row_cpus(r, ctx) for r in ranked}
    known = {name: n for name, n in cpus.items() if n}
    if not c or len(known) < 2:
        return ""
    listed = results.cpu_count(ctx.get("client_cpus"))
    on = (f"the client's {plural(c, 'CPU')}" if not listed
          else f"the client's {cpus_named(ctx['client_cpus'])}" if c == 1
          else f"the client's {c} CPUs ({ctx['client_cpus']})")
    if len(set(known.values())) == 1:
        n = next(iter(known.values()))
        return (f"On {on} each of them could keep {plural(n, 'CPU')} busy, so this ranking "
                "compares CPU cost per request, not how many cores a model can use.")
    groups: dict[int, list[str]] = {}
    for name, n in known.items():
        groups.setdefault(n, []).append(name)
    parts = "; ".join(f"{join_names(names)} {n}" for n, names in sorted(groups.items()))
    return (f"On {on} the CPUs each could keep busy (its threads, at most the client's CPUs) "
            f"were: {parts}; at zero delay this ranking is a property of the core count as "
            "much as of the models, and reads differently on another machine.")
