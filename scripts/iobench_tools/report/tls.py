"""What https costs each model (the `tls` suite, and the zero-delay pair in `default` and `full`):
client CPU per request and throughput, plaintext against TLS, with keep-alive (a handshake per
connection, then encryption) and with a connection per request (a handshake per request, resumed
where the client offers its last session), from rows of the same run; the handshakes and
resumptions per request the server counted; and which models were refused for not speaking
https."""
from __future__ import annotations

from .document import Paragraph, Section, Table
from .rows import Row, Run, TlsRow, finite, fmt, join_names, positive

STEM = "tls"


def pairs(run: Run) -> dict[tuple[str, int], dict[bool, tuple[Row, TlsRow]]]:
    """(model, delay ms) -> {keep-alive: (plaintext row, TLS row)}, for each TLS row whose
    plaintext batch ran too."""
    out: dict[tuple[str, int], dict[bool, tuple[Row, TlsRow]]] = {}
    for t in run.tls_rows:
        plain = next((r for r in run.rows if t.same_batch(r)), None)
        if plain is not None:
            out.setdefault((t.impl, t.delay_ms), {})[t.keep_alive] = (plain, t)
    return out


def ratio(plain: Row, tls: TlsRow, key: str = "cpu_us_per_req") -> float:
    """TLS's `key` over plaintext's; NaN where either is missing or not positive."""
    a, b = plain.m(key), tls.m(key)
    return b / a if positive(a) and positive(b) else float("nan")


def refused(run: Run) -> list[str]:
    """The models and references that ran in plaintext here but get no https row: they do not
    speak it, or (node_fetch, wrk) cannot be told which authority to trust. None where the
    registry predates the flag: then nobody is known to speak it."""
    if not any(m.https for m in run.models):
        return []
    ran = {r.impl for r in run.rows}
    return [m.name for m in run.models if m.name in ran and not m.https]


def _cpu_cell(pair: tuple[Row, TlsRow] | None) -> str:
    if pair is None:
        return "–"
    plain, tls = pair
    x = ratio(plain, tls)
    mark = " ‡" if plain.server_bound or tls.server_bound else ""
    return (f"{fmt(plain.m('cpu_us_per_req'), 0)} → {fmt(tls.m('cpu_us_per_req'), 0)}"
            + (f" ({fmt(x, 1)}×)" if finite(x) else "") + mark)


def _rate_cell(pair: tuple[Row, TlsRow] | None) -> str:
    if pair is None:
        return "–"
    plain, tls = pair
    return f"{fmt(plain.m('req_per_s'), 0)} → {fmt(tls.m('req_per_s'), 0)}"


def _count_cell(by_alive: dict[bool, tuple[Row, TlsRow]], key: str) -> str:
    vals = [by_alive[k][1].m(key) if k in by_alive else float("nan") for k in (True, False)]
    return " / ".join(fmt(v, 3) if finite(v) else "–" for v in vals)


def _spread(run: Run, found: dict, keep_alive: bool, delay: int) -> str | None:
    """'from X× (model) to Y× (model)' for one kind of connection at one delay."""
    xs = sorted((ratio(*v[keep_alive]), m) for (m, d), v in found.items()
                if d == delay and keep_alive in v and finite(ratio(*v[keep_alive]))
                and not any(r.server_bound for r in v[keep_alive]))
    if not xs:
        return None
    (lo, lo_m), (hi, hi_m) = xs[0], xs[-1]
    if lo_m == hi_m:
        return f"{fmt(lo, 1)}× ({lo_m})"
    return f"from {fmt(lo, 1)}× ({lo_m}) to {fmt(hi, 1)}× ({hi_m})"


def finding(run: Run) -> str | None:
    """One sentence per delay: what TLS multiplied the client's CPU per request by."""
    found = pairs(run)
    out = []
    for delay in sorted({d for _, d in found}):
        alive, close = _spread(run, found, True, delay), _spread(run, found, False, delay)
        if alive is None and close is None:
            continue
        parts = []
        if alive:
            parts.append(f"with keep-alive it cost {alive} the plaintext client CPU per request")
        if close:
            parts.append(f"with a handshake per request {close}")
        out.append(f"At {delay} ms of delay, " + "; ".join(parts) + ".")
    return " ".join(out) or None


def section(run: Run) -> Section | None:
    found = pairs(run)
    if not found:
        return None
    body = []
    for m in run.models:
        for delay in sorted({d for n, d in found if n == m.name}):
            v = found[(m.name, delay)]
            body.append([m.name, f"{delay} ms", _cpu_cell(v.get(True)), _cpu_cell(v.get(False)),
                         _rate_cell(v.get(False)), _count_cell(v, "tls_handshakes_per_req"),
                         _count_cell(v, "tls_resumed_per_req")])
    blocks = [
        Paragraph("Each model's batch over https, to a second mock_server started with --tls "
                  "(a certificate authority made at its start, which the client trusts), beside "
                  "the same batch in plaintext in this run. Keep-alive pays a handshake per "
                  "connection, then the encryption of every byte; a connection per request "
                  "(close) pays a handshake per request, an abbreviated one when the client "
                  "offers the session of its last connection and the server takes it back. CPU "
                  "is the client's, in µs per request, plaintext → TLS (TLS over plaintext); "
                  "handshakes and resumptions per request are the server's counts, keep-alive / "
                  "close. ‡: a row of the pair was server-bound, so its ratio is left out of the "
                  "finding."),
        Table(["model", "delay", "CPU µs/req, keep-alive", "CPU µs/req, close",
               "req/s, close", "handshakes/req", "resumed/req"], body)]
    found_text = finding(run)
    if found_text:
        blocks.append(Paragraph(found_text))
    no = refused(run)
    if no:
        blocks.append(Paragraph(f"Not run over https: {join_names(no)}: the registry says "
                                "they do not speak it, or cannot be told which certificate "
                                "authority to trust, so the suite gives them no /tls:1 row."))
    return Section(STEM, "TLS: what https costs each model", blocks)
