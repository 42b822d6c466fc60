"""The machine a results file was measured on, and whether two files come from the same one.

Absolute numbers only compare on the same machine: two VMs of one kind can differ fourfold in a
one-connection ping-pong, so the regression gate refuses to judge across machines (exit 2) and
points to scripts/ab.sh, which measures both revisions on one machine. The fingerprint is what
Google Benchmark and iobench record in a results file's context: CPU model and clock, CPU count,
the CPU partition between server and client, kernel, libcurl, Boost, build type.
"""
from __future__ import annotations

# (context key, what a user calls it). Keys either file lacks are not compared: files from before
# a key existed still compare on the rest.
FIELDS = [
    ("cpu_model", "CPU model"),
    ("mhz_per_cpu", "CPU MHz"),
    ("num_cpus", "CPUs"),
    ("server_cpus", "server CPUs"),
    ("client_cpus", "client CPUs"),
    ("kernel", "kernel"),
    ("libcurl_version", "libcurl"),
    ("boost_version", "Boost"),
    ("build_type", "build type"),
]
# Google Benchmark reads the clock from cpufreq's maximum or the TSC, both fixed for a machine;
# a few percent allows for rounding on hosts that report the current frequency instead.
MHZ_TOLERANCE = 0.05


def _same(key: str, a, b) -> bool:
    if key == "mhz_per_cpu":
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return str(a) == str(b)
        return abs(a - b) <= MHZ_TOLERANCE * max(abs(a), abs(b), 1.0)
    return str(a).strip() == str(b).strip()


def differences(base_ctx: dict | None, cur_ctx: dict | None) -> list[str]:
    """One phrase per fingerprint field that differs, e.g. "CPU MHz 2096 vs 2596"."""
    base_ctx, cur_ctx = base_ctx or {}, cur_ctx or {}
    out = []
    for key, label in FIELDS:
        if key not in base_ctx or key not in cur_ctx:
            continue
        a, b = base_ctx[key], cur_ctx[key]
        if not _same(key, a, b):
            out.append(f"{label} {a} vs {b}")
    return out


def describe(ctx: dict | None) -> str:
    """The fingerprint in one line, for reports and messages."""
    ctx = ctx or {}
    parts = [f"{label} {ctx[key]}" for key, label in FIELDS if key in ctx]
    return ", ".join(parts) if parts else "unknown machine"
