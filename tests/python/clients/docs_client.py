"""A client written from docs/reference_protocol.md and docs/models.md alone (nothing of
bench/reference/): threads over http.client, a connection per worker and host. With --lie MODE
it breaks the contract on purpose:
  claims    answers 200 for every URL without fetching any
  cpu       fetches, then burns CPU it does not report (cpu_s 0)
  lose      answers one outcome fewer than URLs
  version   answers as protocol 2
"""
import http.client
import json
import queue
import resource
import socket
import sys
import threading
import time
from urllib.parse import urlsplit


def fetch(conns, url, timeout):
    """One GET on this worker's connection to the URL's host (made when there is none), the
    failure classified as docs/models.md's table says."""
    start = time.monotonic()
    deadline = start + timeout
    u = urlsplit(url)
    if u.scheme != "http" or not u.hostname or " " in url:
        return [0, 0, start, time.monotonic(), "connect", f"not an http URL: {url!r}"]
    key = (u.hostname, u.port or 80)
    status = 0
    try:
        conn = conns.get(key)
        if conn is None:
            conn = http.client.HTTPConnection(*key, timeout=timeout)
            try:
                conn.connect()
            except OSError as e:
                return [0, 0, start, time.monotonic(), "connect", str(e)]
            conns[key] = conn
        conn.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""))
        resp = conn.getresponse()
        status = resp.status
        size = 0
        while True:  # a body that drips never times out a read: the deadline is the whole
            chunk = resp.read(65536)
            if not chunk:
                if resp.length:  # read(n) takes a close before Content-Length as the end
                    raise http.client.IncompleteRead(b"", resp.length)
                break
            size += len(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError("total timeout")
        if resp.will_close:
            conns.pop(key).close()
        return [status, size, start, time.monotonic(), "none", ""]
    except (TimeoutError, socket.timeout) as e:
        kind, detail = "timeout", str(e) or "timed out"
    except (http.client.BadStatusLine, http.client.LineTooLong) as e:
        kind, detail = ("reset" if isinstance(e, http.client.RemoteDisconnected)
                        else "bad_response"), repr(e)
    except (http.client.HTTPException, ValueError) as e:
        kind, detail = "bad_response", repr(e)
    except OSError as e:
        kind, detail = ("bad_response" if status else "reset"), repr(e)
    stale = conns.pop(key, None)
    if stale is not None:
        stale.close()
    return [0, 0, start, time.monotonic(), kind, detail]


def run(spec, lie):
    urls = spec["urls"]
    if lie == "claims":
        now = time.monotonic()
        return [[200, 0, now, now, "none", ""] for _ in urls]
    out = [None] * len(urls)
    todo = queue.Queue()
    for i, u in enumerate(urls):
        todo.put((i, u))

    def worker():
        conns = {}
        while True:
            try:
                i, u = todo.get_nowait()
            except queue.Empty:
                break
            out[i] = fetch(conns, u, spec["timeout_s"])
            if not spec["keep_alive"]:
                for c in conns.values():
                    c.close()
                conns.clear()
        for c in conns.values():  # connections close with the batch
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(max(1, spec["concurrency"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main():
    lie = sys.argv[sys.argv.index("--lie") + 1] if "--lie" in sys.argv else ""
    for line in sys.stdin:
        spec = json.loads(line)
        if spec.get("protocol") != 1:
            sys.exit(f"docs_client: protocol {spec.get('protocol')} is not 1")
        before = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        outcomes = run(spec, lie)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if lie == "cpu":
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
            cpu = 0.0
        if lie == "lose":
            outcomes = outcomes[:-1]
        answer = {"protocol": 2 if lie == "version" else 1, "wall_s": wall, "cpu_s": cpu,
                  "max_rss_kib": after.ru_maxrss, "threads": threading.active_count(),
                  "outcomes": outcomes}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
