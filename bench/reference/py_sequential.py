#!/usr/bin/python3
"""py_sequential: the posts' "before" code, a loop over one http.client connection.

Like the sequential model it waits for each response before sending the next request, so a
batch takes the sum of its latencies; it shows what the interpreter adds per request.
"""
from __future__ import annotations

import sys

from common import main
from http_client import Connection


def fetch_all(batch):
    conn = Connection(batch)
    try:
        return [conn.get(url) for url in batch.urls]
    finally:
        conn.close()  # connections close with the batch


if __name__ == "__main__":
    sys.exit(main(fetch_all, sys.argv[1:]))
