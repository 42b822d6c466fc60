#!/usr/bin/python3
"""py_asyncio: the blog posts' own pattern, measured beside the C++ models.

One aiohttp ClientSession whose TCPConnector is limited to the concurrency, and asyncio.gather
over the whole batch. Like the coroutine model it overlaps every wait on one thread; unlike it,
each request pays for Python: an asyncio task, aiohttp's parser and its objects, the interpreter.
A semaphore bounds the requests in flight, so a request's latency starts when it gets a
connection slot (as it does in the C++ models), not when gather created its task.
"""
from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

from common import Outcome, main

# aiohttp reads bodies in chunks; counting them keeps a 64 MiB body out of memory.
CHUNK = 64 * 1024


def classify(e: BaseException, got_response: bool) -> str:
    # ClientConnectorError: a refused connection, and (its subclasses) a failed TLS handshake or
    # an untrusted certificate.
    if isinstance(e, (aiohttp.ClientConnectorError, aiohttp.InvalidURL, ValueError)):
        return "connect"
    if isinstance(e, aiohttp.ServerTimeoutError) and "onnect" in str(e):
        return "connect"
    if isinstance(e, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout"
    if isinstance(e, (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        return "bad_response"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "bad_response" if got_response else "reset"
    if isinstance(e, (ConnectionResetError, aiohttp.ClientOSError)):
        return "bad_response" if got_response else "reset"
    return "bad_response"


async def fetch(session: aiohttp.ClientSession, slots: asyncio.Semaphore, url: str,
                batch) -> Outcome:
    async with slots:
        out = Outcome(start=time.monotonic())
        got_response = False
        try:
            # https: the batch's TLS context (aiohttp resumes no sessions across connections).
            tls = batch.tls_context() if url.startswith("https:") else None
        except OSError as e:  # a cacert file it cannot use: no connection is possible
            out.error, out.detail, out.end = "connect", f"{type(e).__name__}: {e}", time.monotonic()
            return out
        try:
            async with session.get(url, ssl=tls) as resp:
                got_response = True
                out.status = resp.status
                async for chunk in resp.content.iter_chunked(CHUNK):
                    out.body_bytes += len(chunk)
        except BaseException as e:  # noqa: BLE001 - every failure becomes a value
            if isinstance(e, asyncio.CancelledError):
                raise
            out.error = classify(e, got_response)
            out.detail = f"{type(e).__name__}: {e}"
            out.status = 0
            out.body_bytes = 0
        out.end = time.monotonic()
        return out


async def run(batch) -> list[Outcome]:
    timeout = aiohttp.ClientTimeout(total=batch.timeout_s, sock_connect=batch.connect_timeout_s)
    connector = aiohttp.TCPConnector(limit=batch.concurrency, force_close=not batch.keep_alive)
    slots = asyncio.Semaphore(batch.concurrency)
    # The session (and its connections) lives for one batch, as in the posts.
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     auto_decompress=False) as session:
        return list(await asyncio.gather(*(fetch(session, slots, u, batch) for u in batch.urls)))


def fetch_all(batch) -> list[Outcome]:
    return asyncio.run(run(batch))


if __name__ == "__main__":
    sys.exit(main(fetch_all, sys.argv[1:]))
