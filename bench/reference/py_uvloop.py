#!/usr/bin/python3
"""py_uvloop: py_asyncio's client, line for line, on uvloop's event loop (libuv) instead of
asyncio's own. What changes is only the loop: the same aiohttp session, the same semaphore, the
same gather; so the difference from py_asyncio is what the loop costs a Python client, not the
HTTP code (Debian's python3-uvloop).
"""
from __future__ import annotations

import sys

import uvloop

import py_asyncio
from common import main


def fetch_all(batch):
    return uvloop.run(py_asyncio.run(batch)) if hasattr(uvloop, "run") else _run(batch)


def _run(batch):
    # uvloop before 0.18 has no uvloop.run: a fresh uvloop loop per batch, as asyncio.run would.
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(py_asyncio.run(batch))
    finally:
        loop.close()


if __name__ == "__main__":
    sys.exit(main(fetch_all, sys.argv[1:]))
