"""What the Python reference implementations share: the batch protocol with build/bin/iobench,
the outcome record, and the measurements a child reports about itself.

Protocol: one JSON object per line on stdin, one per line on stdout, until stdin closes.
  in:  {"urls": [...], "concurrency": C, "keep_alive": true, "timeout_s": 30,
        "connect_timeout_s": 5, "cacert": "ca.pem"}   (cacert: optional, for https URLs)
  out: {"wall_s": ..., "cpu_s": ..., "vol_csw": ..., "invol_csw": ..., "rss_start_kib": ...,
        "max_rss_kib": ..., "threads": ...,
        "outcomes": [[status, body_bytes, start_s, end_s, error, detail], ...]}
Times are time.monotonic() seconds inside the child: the batch is timed here, so the
interpreter's start-up is not part of it. error is one of none, connect, timeout, reset,
bad_response (the same kinds as the C++ fetchers).
"""
from __future__ import annotations

import json
import resource
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit


@dataclass
class Outcome:
    status: int = 0
    body_bytes: int = 0
    start: float = 0.0
    end: float = 0.0
    error: str = "none"
    detail: str = ""

    def row(self) -> list:
        return [self.status, self.body_bytes, self.start, self.end, self.error, self.detail]


@dataclass
class Batch:
    urls: list[str]
    concurrency: int
    keep_alive: bool
    timeout_s: float
    connect_timeout_s: float
    cacert: str = ""  # https: the authorities to trust instead of the system's

    def tls_context(self) -> ssl.SSLContext:
        """The batch's one TLS context (verifying names, trusting `cacert` or the system's);
        raises ssl.SSLError or OSError when the file cannot be used, which the request that
        asked fails with, as `connect`."""
        if getattr(self, "_tls", None) is None:
            self._tls = ssl.create_default_context(cafile=self.cacert or None)
        return self._tls


def split_url(url: str) -> tuple[str, int, str, bool]:
    """host, port, path?query of an http or https URL, and whether it is https; ValueError if it
    is neither."""
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"not an http or https URL: {url!r}")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    tls = u.scheme == "https"
    return u.hostname, u.port or (443 if tls else 80), path, tls


class PeakThreads:
    """Samples the process's thread count while a batch runs (threads come and go with pools)."""

    def __init__(self, every_s: float = 0.005):
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._every = every_s
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, threading.active_count() - 1)  # minus this sampler

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, threading.active_count())


def serve(fetch_all: Callable[[Batch], list[Outcome]]) -> None:
    """Runs batches from stdin until it closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        spec = json.loads(line)
        batch = Batch(urls=list(spec["urls"]), concurrency=max(1, int(spec.get("concurrency", 1))),
                      keep_alive=bool(spec.get("keep_alive", True)),
                      timeout_s=float(spec.get("timeout_s", 30)),
                      connect_timeout_s=float(spec.get("connect_timeout_s", 5)),
                      cacert=str(spec.get("cacert", "")))
        before = resource.getrusage(resource.RUSAGE_SELF)
        with PeakThreads() as threads:
            t0 = time.monotonic()
            outcomes = fetch_all(batch)
            wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
        if len(outcomes) != len(batch.urls):
            raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch.urls)} requests")
        result = {"wall_s": wall,
                  "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                  "vol_csw": after.ru_nvcsw - before.ru_nvcsw,
                  "invol_csw": after.ru_nivcsw - before.ru_nivcsw,
                  "rss_start_kib": before.ru_maxrss, "max_rss_kib": after.ru_maxrss,
                  "threads": threads.peak,
                  "outcomes": [o.row() for o in outcomes]}
        sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
        sys.stdout.flush()


def main(fetch_all: Callable[[Batch], list[Outcome]], argv: list[str]) -> int:
    """Entry point: `--once URL [-n N] [-c C]` for a quick look by hand, else the protocol."""
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv[:1] == ["--once"] and len(argv) >= 2:
        n = int(argv[argv.index("-n") + 1]) if "-n" in argv else 1
        c = int(argv[argv.index("-c") + 1]) if "-c" in argv else 1
        batch = Batch([argv[1]] * n, c, True, 30.0, 5.0)
        t0 = time.monotonic()
        outcomes = fetch_all(batch)
        wall = time.monotonic() - t0
        ok = sum(1 for o in outcomes if o.error == "none" and 200 <= o.status < 300)
        print(f"{ok}/{n} ok in {wall:.3f} s; errors: "
              f"{sorted({o.error for o in outcomes if o.error != 'none'})}")
        return 0 if ok == n else 1
    serve(fetch_all)
    return 0
