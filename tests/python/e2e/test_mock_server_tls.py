"""mock_server --tls: HTTPS with a made certificate authority (--cert-out) or given files, TLS 1.2
and 1.3, session resumption on and off, the handshake counters, the same faults, pipelining and
a client that leaves during a delay, and one-line refusals of flags that do not go together. The
clients are real: Python's ssl and http.client, and curl."""
import http.client
import json
import socket
import ssl
import subprocess
import time
import urllib.parse

import pytest

HOST = "127.0.0.1"


def tls_server(mock_server, tmp_path, *args):
    ca = tmp_path / f"ca-{time.monotonic_ns()}.pem"
    s = mock_server("--tls", "--cert-out", str(ca), *args)
    return s, ca


def context(ca, version=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def connection(s, ca) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(HOST, s.port, context=context(ca), timeout=30)


def stats(s, ca) -> dict:
    c = connection(s, ca)
    c.request("GET", "/stats")
    doc = json.loads(c.getresponse().read())
    c.close()
    return doc


def eventually(check, timeout=10):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def tls_socket(s, ctx, session=None) -> ssl.SSLSocket:
    return ctx.wrap_socket(socket.create_connection((HOST, s.port), timeout=30),
                           server_hostname=HOST, session=session)


def read_all(t: ssl.SSLSocket) -> bytes:
    data = b""
    while chunk := t.recv(65536):
        data += chunk
    return data


def test_https_serves_the_endpoints_and_counts_one_handshake_per_connection(mock_server,
                                                                            tmp_path):
    s, ca = tls_server(mock_server, tmp_path)
    assert s.url == f"https://{HOST}:{s.port}"
    before = stats(s, ca)
    c = connection(s, ca)
    for n in (5, 100_000, 0):
        c.request("GET", f"/x?bytes={n}")
        r = c.getresponse()
        assert r.status == 200 and len(r.read()) == n
    c.request("GET", "/x?chunked=1&bytes=5000&drip=100ms")
    r = c.getresponse()
    assert r.getheader("Transfer-Encoding") == "chunked" and len(r.read()) == 5000
    c.close()
    after = stats(s, ca)
    assert after["requests"] - before["requests"] == 4
    # One connection for the four requests, one for the /stats read: two handshakes.
    assert after["tls_handshakes"] - before["tls_handshakes"] == 2
    assert after["tls_failures"] == 0
    # curl, trusting the made authority with its own flag.
    out = subprocess.run(["curl", "-sS", "--cacert", str(ca), f"{s.url}/x?bytes=7"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == "abcdefg", out.stderr


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3],
                         ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize("tickets", ["on", "off"])
def test_both_versions_and_resumption_as_asked(mock_server, tmp_path, version, tickets):
    s, ca = tls_server(mock_server, tmp_path, "--tls-tickets", tickets)
    ctx = context(ca, version)
    first = tls_socket(s, ctx)
    assert first.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                               ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    first.sendall(b"GET /x?bytes=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(first).endswith(b"\r\n\r\nabc")  # TLS 1.3 tickets arrive with the data
    session = first.session
    first.close()
    again = tls_socket(s, ctx, session=session)
    again.sendall(b"GET /x?bytes=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_all(again).endswith(b"\r\n\r\nab")
    assert again.session_reused == (tickets == "on")
    again.close()
    doc = stats(s, ca)
    assert doc["tls_resumed"] == (1 if tickets == "on" else 0)
    assert doc["tls_handshakes"] == 3  # the two above and the /stats read


def test_a_certificate_the_client_does_not_trust_fails_the_handshake(mock_server, tmp_path):
    s, ca = tls_server(mock_server, tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_socket(s, ssl.create_default_context())  # the system's authorities only
    eventually(lambda: stats(s, ca)["tls_failures"] == 1)
    r = subprocess.run(["curl", "-sS", f"{s.url}/x"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 60, r.stderr  # curl: "SSL certificate problem"


def test_a_given_certificate_and_key_are_served(mock_server, tmp_path, bins):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=given",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    s = mock_server("--tls", "--cert", str(cert), "--key", str(key))
    ctx = ssl.create_default_context(cafile=str(cert))
    t = tls_socket(s, ctx)
    assert t.getpeercert()["subject"] == ((("commonName", "given"),),)
    t.close()
    # A key that is not the certificate's: one line, exit 1.
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(other)], check=True,
                   capture_output=True, timeout=60)
    r = subprocess.run([str(bins / "mock_server"), "--tls", "--cert", str(cert), "--key",
                        str(other)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("mock_server: --key ")


@pytest.mark.parametrize("fault, error", [
    ("fail=truncate&bytes=1000", http.client.IncompleteRead),
    ("fail=garbage", http.client.BadStatusLine),
    ("fail=reset", (http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError)),
    ("fail=close", (http.client.RemoteDisconnected, ConnectionResetError, ssl.SSLError)),
])
def test_faults_mean_the_same_over_tls(mock_server, tmp_path, fault, error):
    s, ca = tls_server(mock_server, tmp_path)
    c = connection(s, ca)
    with pytest.raises(error):
        c.request("GET", f"/x?{fault}")
        c.getresponse().read()
    assert stats(s, ca)["faults"] == 1


def test_pipelined_requests_are_answered_in_order_after_a_delay(mock_server, tmp_path):
    s, ca = tls_server(mock_server, tmp_path)
    t = tls_socket(s, context(ca))
    t.sendall(b"GET /x?delay=100ms&bytes=3 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /y?bytes=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answers = read_all(t).split(b"HTTP/1.1 200 OK")
    t.close()
    assert len(answers) == 3 and answers[1].endswith(b"abc") and answers[2].endswith(b"abcde")


def test_a_client_that_leaves_during_a_delay_is_counted_cancelled(mock_server, tmp_path):
    s, ca = tls_server(mock_server, tmp_path)
    t = tls_socket(s, context(ca))
    t.sendall(b"GET /x?delay=30s HTTP/1.1\r\nHost: x\r\n\r\n")
    eventually(lambda: stats(s, ca)["in_flight"] == 1)
    t.close()
    eventually(lambda: stats(s, ca)["cancelled"] == 1 and stats(s, ca)["in_flight"] == 0)


def test_a_connection_over_the_limit_is_closed_without_an_answer(mock_server, tmp_path):
    s, ca = tls_server(mock_server, tmp_path, "--max-connections", "1")
    held = tls_socket(s, context(ca))
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        tls_socket(s, context(ca))
    held.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    doc = json.loads(read_all(held).split(b"\r\n\r\n", 1)[1])
    held.close()
    assert doc["connections_rejected"] == 1 and doc["tls_handshakes"] == 1


@pytest.mark.parametrize("args, needle", [
    (["--cert", "c.pem", "--key", "k.pem"], "need --tls"),
    (["--cert-out", "ca.pem"], "need --tls"),
    (["--tls-tickets", "off"], "need --tls"),
    (["--tls", "--cert", "c.pem"], "--cert and --key go together"),
    (["--tls", "--cert", "c.pem", "--key", "k.pem", "--cert-out", "x.pem"], "--cert-out"),
    (["--tls", "--tls-tickets", "maybe"], "--tls-tickets: expected on or off"),
])
def test_flags_that_do_not_go_together_are_one_line(bins, args, needle):
    r = subprocess.run([str(bins / "mock_server"), *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_an_unreadable_certificate_and_an_unwritable_cert_out_are_one_line(bins, tmp_path):
    for args, needle in (
            (["--tls", "--cert", str(tmp_path / "none.pem"), "--key", str(tmp_path / "k")],
             "mock_server: --cert "),
            (["--tls", "--cert-out", str(tmp_path / "no" / "such" / "dir.pem")],
             "mock_server: --cert-out ")):
        r = subprocess.run([str(bins / "mock_server"), *args], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1 and r.stderr.startswith(needle), r.stderr
        assert r.stderr.count("\n") == 1, r.stderr


def test_the_url_scheme_follows_tls(mock_server, tmp_path):
    plain = mock_server()
    assert urllib.parse.urlparse(plain.url).scheme == "http"
    s, _ = tls_server(mock_server, tmp_path)
    assert urllib.parse.urlparse(s.url).scheme == "https"


# --- iobench-fetch over https ---------------------------------------------------------------

def fetch(bins, *args):
    return subprocess.run([str(bins / "iobench-fetch"), *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("impl", ["sequential", "thread_pool", "curl_multi"])
def test_iobench_fetch_speaks_https_with_the_models_that_do(bins, mock_server, tmp_path, impl):
    s, ca = tls_server(mock_server, tmp_path)
    r = fetch(bins, "--impl", impl, "-n", "20", "-c", "4", "--cacert", str(ca), "--json",
              f"{s.url}/x?bytes=100")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["succeeded"] == 20 and doc["body_bytes"] == 2000
    # One handshake per connection it opened (the /stats read opens one more).
    assert stats(s, ca)["tls_handshakes"] == doc["details"]["connect_ms"]["count"] + 1
    untrusted = fetch(bins, "--impl", impl, "-n", "3", "--json", f"{s.url}/x")
    assert untrusted.returncode == 1
    assert json.loads(untrusted.stdout)["errors"] == {"connect": 3, "timeout": 0, "reset": 0,
                                                      "bad_response": 0}
    insecure = fetch(bins, "--impl", impl, "-n", "3", "--insecure", f"{s.url}/x")
    assert insecure.returncode == 0, insecure.stderr


@pytest.mark.parametrize("args, needle", [
    (["--impl", "epoll", "https://127.0.0.1:1/x"],
     "--impl epoll does not speak https; these do: sequential, thread_pool, beast_sync, "
     "beast_pool, coroutine, curl_multi, coroutine_mt"),
    (["--impl", "thread_pool", "--cacert", "ca.pem", "http://127.0.0.1:1/x"],
     "--cacert and --insecure are for an https:// URL"),
    (["--impl", "thread_pool", "--cacert", "/no/such/ca.pem", "https://127.0.0.1:1/x"],
     "--cacert: cannot read '/no/such/ca.pem'"),
])
def test_iobench_fetch_refuses_https_it_cannot_do_in_one_line(bins, args, needle):
    r = fetch(bins, *args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1, r.stderr
