#!/usr/bin/python3
"""What a mock_server holds while many clients send it request bodies: its resident memory with N
connections each in the middle of a body of SIZE bytes (every byte sent but the last, so every
request is still being read), and how long a plain GET takes meanwhile (while the bodies are being
sent, and once they are all held). Then the last bytes go, and every request must be answered.

  tools/server_request_bodies.py [--connections N] [--body SIZE_BYTES] MOCK_SERVER

The server runs with one event loop (--threads 1). Run it with an open-file limit above N
(ulimit -n). What it prints is one machine's measurement, not a test: nothing is asserted."""
import argparse
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def rss_mib(pid: int, field: str) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def get_ms(port: int) -> float:
    """One plain GET on a fresh connection, until its head has arrived."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /x?bytes=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("the server closed the plain GET's connection")
            data += chunk
        return (time.monotonic() - t0) * 1000


def probe(port: int) -> int:
    """A plain GET every 10 ms, its time in ms on a line of its own, until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        print(f"{get_ms(port):.3f}", flush=True)
        time.sleep(0.01)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        return probe(int(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", type=pathlib.Path, help="the mock_server binary")
    parser.add_argument("--connections", type=int, default=1000, help="default 1000")
    parser.add_argument("--body", type=int, default=1 << 20, help="bytes each (default 1 MiB)")
    args = parser.parse_args()
    if args.connections < 1 or args.body < 2:
        parser.error("--connections must be at least 1 and --body at least 2")
    if not os.access(args.server, os.X_OK):
        parser.error(f"{args.server} is not an executable")

    with tempfile.TemporaryDirectory() as tmp:
        port_file = pathlib.Path(tmp) / "url"
        server = subprocess.Popen([str(args.server), "--threads", "1", "--port", "0",
                                   "--port-file", str(port_file)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not port_file.exists():
                if server.poll() is not None:
                    print("the server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.01)
            port = int(port_file.read_text().strip().rsplit(":", 1)[1])
            print(f"start: RSS {rss_mib(server.pid, 'VmRSS:'):.0f} MiB")
            head = (f"GET /x?bytes=2 HTTP/1.1\r\nHost: x\r\nContent-Length: {args.body}\r\n\r\n"
                    .encode())
            body = b"b" * (args.body - 1)
            # The plain GETs come from a process of their own: a thread here would wait for the
            # interpreter lock behind the sender, and time that instead of the server.
            prober = subprocess.Popen([sys.executable, __file__, "--probe", str(port)],
                                      stdout=subprocess.PIPE, text=True)
            conns = []
            t0 = time.monotonic()
            try:
                for _ in range(args.connections):
                    s = socket.create_connection(("127.0.0.1", port))
                    s.sendall(head + body)
                    conns.append(s)
            finally:
                prober.terminate()
                during = [float(x) for x in prober.communicate()[0].split()]
            if not during:
                during = [get_ms(port)]
            print(f"{args.connections} connections x {args.body - 1} body bytes sent in "
                  f"{time.monotonic() - t0:.1f} s; {len(during)} plain GETs meanwhile: median "
                  f"{statistics.median(during):.1f} ms, max {max(during):.1f} ms")
            time.sleep(1)
            print(f"all held: RSS {rss_mib(server.pid, 'VmRSS:'):.0f} MiB, peak "
                  f"{rss_mib(server.pid, 'VmHWM:'):.0f} MiB; a plain GET: {get_ms(port):.1f} ms")
            for s in conns:
                s.sendall(b"b")
            answered = 0
            for s in conns:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                answered += data.startswith(b"HTTP/1.1 200")
                s.close()
            print(f"answered 200: {answered} of {args.connections}; peak RSS "
                  f"{rss_mib(server.pid, 'VmHWM:'):.0f} MiB")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
