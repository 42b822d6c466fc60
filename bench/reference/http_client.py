"""A blocking GET over http.client with keep-alive, shared by py_sequential and py_threads.

http.client's timeout applies to each socket operation; here every operation gets what is left
of the request's total timeout, so the total holds like the C++ fetchers' does. A request that
fails on a reused connection before any response byte is retried once on a fresh one (the
server may have closed it while idle), as libcurl and the C++ models do. Over https the
connection is http.client's HTTPSConnection with the batch's TLS context: a handshake per
connection, never resumed (http.client keeps no sessions).
"""
from __future__ import annotations

import http.client
import socket
import time

from common import Batch, Outcome, split_url

CHUNK = 64 * 1024


class Connection:
    """One keep-alive connection, reused while the host and port stay the same."""

    def __init__(self, batch: Batch):
        self.batch = batch
        self.connect_timeout_s = batch.connect_timeout_s
        self.timeout_s = batch.timeout_s
        self.keep_alive = batch.keep_alive
        self.conn: http.client.HTTPConnection | None = None
        self.peer = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.peer = None

    def get(self, url: str) -> Outcome:
        out = Outcome(start=time.monotonic())
        try:
            host, port, path, tls = split_url(url)
        except ValueError as e:
            out.error, out.detail, out.end = "connect", str(e), time.monotonic()
            return out
        deadline = out.start + self.timeout_s
        for attempt in (0, 1):
            reused = self.conn is not None and self.peer == (host, port)
            phase = "connect"
            try:
                if not reused:
                    self.close()
                    timeout = min(self.connect_timeout_s, self.timeout_s)
                    self.conn = (http.client.HTTPSConnection(
                        host, port, timeout=timeout, context=self.batch.tls_context()) if tls
                        else http.client.HTTPConnection(host, port, timeout=timeout))
                    self.conn.connect()
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.peer = (host, port)
                phase = "send"
                self.conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
                headers = {"User-Agent": "iobench-py", "Accept": "*/*"}
                if not self.keep_alive:
                    headers["Connection"] = "close"
                self.conn.request("GET", path, headers=headers)
                phase = "head"
                resp = self.conn.getresponse()
                phase = "body"
                out.status = resp.status
                while resp.length is None or resp.length > 0:
                    # read1: at most one recv per call. read(n) would keep receiving until n
                    # bytes came, each recv within the timeout, and a slow body would outlast
                    # the total; here every recv gets only what is left of it.
                    if self.conn.sock is not None:
                        self.conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
                    chunk = resp.read1(CHUNK)
                    if not chunk:
                        break
                    out.body_bytes += len(chunk)
                # A body cut short: read1 at EOF just returns nothing (and closes), even when
                # Content-Length promised more. It must not pass for a complete response.
                if resp.length:
                    raise http.client.IncompleteRead(b"", resp.length)
                # read() marks a complete response done, so the connection can carry the next
                # request (read1 does not when the body ends exactly).
                resp.read()
                if not self.keep_alive or resp.will_close:
                    self.close()
                break
            except Exception as e:  # noqa: BLE001 - every failure becomes a value
                self.close()
                stale = reused and attempt == 0 and phase in ("send", "head") and isinstance(
                    e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                if stale:
                    continue
                out.status = 0
                out.body_bytes = 0
                out.error = classify(e, phase)
                out.detail = f"{type(e).__name__}: {e}"
                break
        out.end = time.monotonic()
        return out


def classify(e: Exception, phase: str) -> str:
    if phase == "connect":
        return "connect"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, http.client.RemoteDisconnected) or (
            isinstance(e, (ConnectionResetError, BrokenPipeError)) and phase in ("send", "head")):
        return "reset"
    # IncompleteRead (truncated), BadStatusLine / LineTooLong (garbage), a reset mid-body.
    return "bad_response"
