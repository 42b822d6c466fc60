#!/usr/bin/python3
"""py_threads: concurrent.futures.ThreadPoolExecutor with `concurrency` workers, each keeping its
own http.client connection, as the posts' threaded version does.

Threads overlap the waits (the GIL is released during socket calls), so a batch takes about
ceil(N / C) x L, but every response wakes a thread that must take the GIL to parse it: at high
concurrency the interpreter, not the network, sets the pace.
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from common import main
from http_client import Connection


def fetch_all(batch):
    local = threading.local()
    opened: list[Connection] = []
    lock = threading.Lock()

    def get(url):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = Connection(batch)
            with lock:
                opened.append(conn)
        return conn.get(url)

    try:
        with ThreadPoolExecutor(max_workers=batch.concurrency) as pool:
            return list(pool.map(get, batch.urls))  # results in request order
    finally:
        for conn in opened:  # connections close with the batch
            conn.close()


if __name__ == "__main__":
    sys.exit(main(fetch_all, sys.argv[1:]))
