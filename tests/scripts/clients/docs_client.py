"""A client written from docs/reference_protocol.md alone (nothing of bench/reference/): threads
over http.client, one connection per worker. With --lie MODE it breaks the contract on purpose:
  claims    answers 200 for every URL without fetching any
  cpu       fetches, then burns CPU it does not report (cpu_s 0)
  lose      answers one outcome fewer than URLs
  version   answers as protocol 2
"""
import http.client
import json
import queue
import resource
import sys
import threading
import time
from urllib.parse import urlsplit


def fetch(conn_box, url, timeout):
    u = urlsplit(url)
    start = time.monotonic()
    try:
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
        conn = conn_box[0]
        conn.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""))
        resp = conn.getresponse()
        body = resp.read()
        return [resp.status, len(body), start, time.monotonic(), "none", ""]
    except (ConnectionError, OSError, http.client.HTTPException) as e:
        conn_box[0] = None
        return [0, 0, start, time.monotonic(), "reset", str(e)]


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
        box = [None]
        while True:
            try:
                i, u = todo.get_nowait()
            except queue.Empty:
                break
            out[i] = fetch(box, u, spec["timeout_s"])
            if not spec["keep_alive"] and box[0] is not None:
                box[0].close()
                box[0] = None
        if box[0] is not None:
            box[0].close()

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
