"""Does a client keep iobench's batch protocol (docs/reference_protocol.md)? Drives it through the
contract against a real mock_server and prints what it breaks.

    scripts/conform.py [--bin DIR] [--one-at-a-time] -- COMMAND [ARGS...]

COMMAND is started as the child, as `iobench --reference NAME=COMMAND` would start it. Each check
prints PASS or FAIL with what was seen:
  empty-batch      the first batch is empty; its answer has no outcomes
  answer-fields    wall_s, cpu_s, max_rss_kib, threads, outcomes; a protocol, if any, is 1
  order-bodies     one outcome per URL, in order, with each body's size and status (404 is a
                   response, not an error)
  error-kinds      a fault gets the models' error kind: a reset, a close before the response,
                   a truncated body (plain and chunked), garbage, a hang and a body that drips
                   past the timeout, a refused connection, a URL that is no http URL
  concurrency      at most C requests in flight, and C when C are asked (the server's
                   max_in_flight on /stats); one with --one-at-a-time
  keep-alive       a batch reuses its connections; without keep-alive, a connection per request;
                   connections close with the batch
  many-batches     batch after batch in one process, outcomes right each time
  timing           start <= end for every outcome, and the batch's wall_s at least as long as
                   the longest request; measured CPU not above what the kernel counted
Exit 0 when every check passes, 1 when one fails, 2 for a usage error or a client that cannot be
run (it exits, or answers what is not JSON: one line says why).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

from iobench_tools import ROOT


# A fault and the kind every model reports for it (docs/models.md's table); the mock server's
# fault flags (docs/mock_server.md).
FAULTS = [("/f?bytes=5", "none"), ("/f?fail=reset", "reset"), ("/f?fail=close", "reset"),
          ("/f?fail=truncate&bytes=1000", "bad_response"),
          ("/f?fail=truncate&bytes=1000&chunked=1", "bad_response"),
          ("/f?fail=garbage", "bad_response"), ("/f?fail=hang", "timeout"),
          ("/f?bytes=100&drip=3s", "timeout"), ("/f?bytes=7", "none")]


class Broken(Exception):
    """The client cannot be driven at all (exit 2)."""


class Server:
    def __init__(self, bins: pathlib.Path):
        self.dir = tempfile.mkdtemp(prefix="iobench-conform-")
        port_file = pathlib.Path(self.dir) / "url"
        self.proc = subprocess.Popen([str(bins / "mock_server"), "--port", "0", "--port-file",
                                      str(port_file)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.025)
        else:
            self.stop()
            raise Broken(f"{bins / 'mock_server'} did not start")
        self.url = port_file.read_text().strip()

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            return json.load(r)

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/stats/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class Child:
    def __init__(self, command: list[str], timeout: float):
        self.timeout = timeout
        self.err = tempfile.TemporaryFile(mode="w+")
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.err, text=True)
        except OSError as e:
            raise Broken(f"cannot start {command[0]}: {e.strerror}") from e

    def batch(self, urls: list[str], concurrency: int = 1, keep_alive: bool = True,
              timeout_s: float = 5.0) -> tuple[dict, float]:
        """The answer and the kernel's count of the child's CPU seconds while it worked."""
        spec = {"protocol": 1, "urls": urls, "concurrency": concurrency,
                "keep_alive": keep_alive, "timeout_s": timeout_s, "connect_timeout_s": 2.0}
        before = cpu_of(self.proc.pid)
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError as e:
            raise Broken(f"the client ended without an answer (it closed its stdin); "
                         f"{self.stderr()}") from e
        line = self.proc.stdout.readline()
        after = cpu_of(self.proc.pid)
        if not line:
            raise Broken(f"the client ended without an answer; {self.stderr()}")
        try:
            answer = json.loads(line)
        except json.JSONDecodeError as e:
            raise Broken(f"the answer is not JSON ({e.msg}): {line[:200]!r}") from e
        if not isinstance(answer, dict):
            raise Broken(f"the answer is not a JSON object: {line[:200]!r}")
        return answer, after - before

    def stderr(self) -> str:
        self.err.seek(0)
        text = self.err.read().strip()
        return f"its stderr: {text[-500:]}" if text else "no stderr"

    def close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of `pid`, every thread's (/proc/PID/stat, 10 ms ticks)."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def outcomes_of(answer: dict, n: int) -> list[list]:
    out = answer.get("outcomes")
    if not isinstance(out, list) or len(out) != n:
        got = len(out) if isinstance(out, list) else "no"
        raise AssertionError(f"{got} outcomes for {n} URLs")
    for o in out:
        if not (isinstance(o, list) and len(o) == 6):
            raise AssertionError(f"an outcome is not [status, body_bytes, start_s, end_s, error, "
                                 f"detail]: {json.dumps(o)[:120]}")
    return out


def run_checks(child: Child, server: Server,
               one_at_a_time: bool = False) -> list[tuple[str, str | None]]:
    """(check, None when it passed, else what was wrong), in order."""
    results = []
    u = server.url

    def check(name, fn):
        try:
            fn()
            results.append((name, None))
        except AssertionError as e:
            results.append((name, str(e) or "failed"))

    def empty_batch():
        answer, _ = child.batch([])
        outcomes_of(answer, 0)

    def answer_fields():
        answer, _ = child.batch([u + "/a?bytes=3"])
        missing = [k for k in ("wall_s", "cpu_s", "max_rss_kib", "threads", "outcomes")
                   if k not in answer]
        assert not missing, f"the answer lacks {', '.join(missing)}"
        assert answer.get("protocol", 1) == 1, f"protocol {answer['protocol']} is not 1"

    def order_bodies():
        urls = [f"{u}/o?bytes={i}&delay={(12 - i) * 3}ms" for i in range(12)]
        urls += [u + "/o?status=404&bytes=3", u + "/o?bytes=70000&chunked=1"]
        out = outcomes_of(child.batch(urls, concurrency=4)[0], len(urls))
        for i in range(12):
            assert out[i][4] == "none" and out[i][:2] == [200, i], \
                f"URL {i} ({urls[i]}): got {out[i][:2]} {out[i][4]} ({out[i][5]})"
        assert out[12][:2] == [404, 3] and out[12][4] == "none", \
            f"a 404 is a response, not an error: got {out[12][:2]} {out[12][4]}"
        assert out[13][:2] == [200, 70000], f"a chunked body of 70,000 bytes: got {out[13][:2]}"

    def error_kinds():
        urls = [u + path for path, _ in FAULTS] + ["http://127.0.0.1:1/", "not a url"]
        want = [kind for _, kind in FAULTS] + ["connect", "connect"]
        out = outcomes_of(child.batch(urls, concurrency=3, timeout_s=0.5)[0], len(urls))
        wrong = [f"{url}: {o[4]} ({o[5]}), not {w}" for url, o, w in zip(urls, out, want)
                 if o[4] != w]
        wrong += [f"{url}: status {o[0]} on an error (0 expected)" for url, o in zip(urls, out)
                  if o[4] != "none" and o[0] != 0]
        assert not wrong, "; ".join(wrong)

    def concurrency():
        server.reset()
        outcomes_of(child.batch([u + "/c?delay=100ms"] * 18, concurrency=6)[0], 18)
        seen = server.stats()["max_in_flight"]
        want = 1 if one_at_a_time else 6
        assert seen == want, f"C = 6: the server saw {seen} requests in flight at most, " \
                             f"not {want}"

    def keep_alive():
        server.reset()
        outcomes_of(child.batch([u + "/k?delay=10ms"] * 12, concurrency=3)[0], 12)
        accepted = server.stats()["connections_accepted"] - 1  # less the /stats call's own
        assert accepted <= 3, f"keep-alive, C = 3: {accepted} connections for 12 requests"
        server.reset()
        outcomes_of(child.batch([u + "/k"] * 8, concurrency=2, keep_alive=False)[0], 8)
        st = server.stats()
        assert st["connections_accepted"] - 1 >= 8, \
            f"without keep-alive: {st['connections_accepted'] - 1} connections for 8 requests"
        time.sleep(0.2)
        still = server.stats()["connections_open"] - 1
        assert still <= 0, f"{still} connections still open after the batch"

    def many_batches():
        for n in (1, 5, 3):
            out = outcomes_of(child.batch([u + "/b?bytes=2"] * n, concurrency=2)[0], n)
            assert [o[1] for o in out] == [2] * n, f"batch of {n}: bodies {[o[1] for o in out]}"

    def timing():
        answer, kernel = child.batch([u + "/t?delay=50ms"] * 4, concurrency=2)
        out = outcomes_of(answer, 4)
        assert all(o[2] <= o[3] for o in out), "an outcome ends before it starts"
        longest = max(o[3] - o[2] for o in out)
        assert answer["wall_s"] >= longest * 0.99, \
            f"wall_s {answer['wall_s']:.3f} s is shorter than a request ({longest:.3f} s)"
        assert answer["cpu_s"] <= kernel + 0.02, \
            f"cpu_s {answer['cpu_s']:.3f} s is more than the kernel counted ({kernel:.3f} s)"

    for name, fn in [("empty-batch", empty_batch), ("answer-fields", answer_fields),
                     ("order-bodies", order_bodies), ("error-kinds", error_kinds),
                     ("concurrency", concurrency), ("keep-alive", keep_alive),
                     ("many-batches", many_batches), ("timing", timing)]:
        check(name, fn)
    return results


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="conform.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--bin", type=pathlib.Path,
                    default=pathlib.Path(os.environ.get("IOBENCH_BIN", ROOT / "build" / "bin")),
                    help="where mock_server is (default: build/bin, or IOBENCH_BIN)")
    ap.add_argument("--one-at-a-time", action="store_true",
                    help="the client runs one request at a time whatever C (as py_sequential)")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("conform.py: no COMMAND to check (see --help)", file=sys.stderr)
        return 2
    if not (args.bin / "mock_server").exists():
        print(f"conform.py: no mock_server in {args.bin} (build first, or --bin DIR)",
              file=sys.stderr)
        return 2
    try:
        server = Server(args.bin)
    except Broken as e:
        print(f"conform.py: {e}", file=sys.stderr)
        return 2
    child = None
    try:
        child = Child(command, 30)
        results = run_checks(child, server, args.one_at_a_time)
    except Broken as e:
        print(f"conform.py: {e}", file=sys.stderr)
        return 2
    finally:
        if child is not None:
            child.close()
        server.stop()
    for name, why in results:
        verdict = "PASS" if why is None else "FAIL"
        print(f"{verdict}  {name}" + ("" if why is None else f": {why}"))
    failed = sum(why is not None for _, why in results)
    print(f"conform.py: {len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0
