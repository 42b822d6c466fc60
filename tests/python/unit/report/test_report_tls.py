"""The TLS section of the report: /tls:1 rows are read apart from plain batches, each beside its
plaintext twin, with the client's CPU per request, the server's handshake and resumption counts,
a finding computed from the ratios, and the models that do not speak https named. On
tls_suite.json."""
import copy
import json
import subprocess

from conftest import FIXTURES, ROOT

from iobench_tools.report import rows, sections, tls

REPORT = ROOT / "scripts" / "report.py"
MODELS = ["sequential", "thread_pool", "beast_sync", "beast_pool", "coroutine", "curl_multi",
          "coroutine_mt"]
REFERENCES = ["py_asyncio", "py_threads", "py_sequential", "py_uvloop", "go_goroutines"]
HTTPS = MODELS + REFERENCES


def fixture() -> dict:
    return json.loads((FIXTURES / "tls_suite.json").read_text())


def load(tmp_path, doc=None):
    path = FIXTURES / "tls_suite.json"
    if doc is not None:
        path = tmp_path / "tls.json"
        path.write_text(json.dumps(doc))
    return rows.load(path)


def test_tls_rows_are_kept_apart_and_paired_with_their_plaintext_twins(tmp_path):
    run = load(tmp_path)
    assert not any("/tls:1" in r.name for r in run.rows)
    assert len(run.tls_rows) == 4 * len(HTTPS)
    found = tls.pairs(run)
    assert sorted({m for m, _ in found}) == sorted(HTTPS)
    assert {d for _, d in found} == {0, 10}
    for by_alive in found.values():
        assert set(by_alive) == {True, False}
        for plain, t in by_alive.values():
            assert plain.name + "/tls:1" == t.name


def test_the_server_counts_a_handshake_per_connection(tmp_path):
    for (model, delay), by_alive in tls.pairs(load(tmp_path)).items():
        close = by_alive[False][1]
        assert close.m("tls_handshakes_per_req") == 1, (model, delay)
        # Our models offer each connection the session of the one before; the references'
        # libraries keep no sessions.
        if model in MODELS:
            assert close.m("tls_resumed_per_req") > 0.9, (model, delay)
        else:
            assert close.m("tls_resumed_per_req") == 0, (model, delay)
        # Keep-alive: one connection per request in flight, per batch.
        alive = by_alive[True][1]
        per_batch = alive.m("tls_handshakes_per_req") * alive.requests
        assert round(per_batch, 3) == alive.concurrency, (model, delay, per_batch)


def test_the_section_tabulates_every_pair_and_names_the_refused(tmp_path):
    run = load(tmp_path)
    sec = tls.section(run)
    table = sec.blocks[1]
    assert table.header[:4] == ["model", "delay", "CPU µs/req, keep-alive", "CPU µs/req, close"]
    assert [r[0] for r in table.rows] == [m for m in HTTPS for _ in (0, 10)]
    plain, t = tls.pairs(run)[("coroutine", 0)][False]
    cell = table.rows[HTTPS.index("coroutine") * 2][3]
    assert cell.startswith(f"{plain.m('cpu_us_per_req'):,.0f} → {t.m('cpu_us_per_req'):,.0f}")
    assert sec.blocks[-1].text.startswith("Not run over https: epoll, uring and node_fetch:")
    assert sections.report(run, []).section(tls.STEM).title == "TLS: what https costs each model"


def test_the_finding_spans_the_ratios_of_the_rows_that_were_not_server_bound(tmp_path):
    run = load(tmp_path)
    text = tls.finding(run)
    judged = [tls.ratio(*v[False]) for (_, d), v in tls.pairs(run).items()
              if d == 0 and not any(r.server_bound for r in v[False])]
    assert judged, "the fixture has zero-delay close pairs the server kept up with"
    assert f"with a handshake per request from {min(judged):.1f}×" in text


def test_a_pair_whose_server_was_the_bottleneck_is_marked_and_left_out(tmp_path):
    doc = copy.deepcopy(fixture())
    name = "fetch/curl_multi/requests:2000/delay_ms:0/concurrency:16/bytes:0/close/tls:1"
    for b in doc["benchmarks"]:
        if b["name"].startswith(name):
            b["server_cpu_util"] = 0.99
    run = load(tmp_path, doc)
    row = next(r for r in tls.section(run).blocks[1].rows if r[:2] == ["curl_multi", "0 ms"])
    assert row[3].endswith("‡")
    assert "(curl_multi)" not in tls.finding(run).split("At 10 ms")[0].split("per request from")[-1]


def test_an_errored_tls_row_is_named_not_dropped(tmp_path):
    doc = copy.deepcopy(fixture())
    name = "fetch/beast_pool/requests:320/delay_ms:10/concurrency:16/bytes:0/tls:1"
    for b in doc["benchmarks"]:
        if b["name"].startswith(name):
            b["error_occurred"] = True
            b["error_message"] = "cannot start mock_server --tls: no such file"
    run = load(tmp_path, doc)
    assert True not in tls.pairs(run)[("beast_pool", 10)]
    assert any(name in g and "mock_server --tls" in g for g in run.gaps)


def test_a_registry_without_the_https_flag_names_nobody_refused(tmp_path):
    doc = copy.deepcopy(fixture())
    models = json.loads(doc["context"]["models"]) if isinstance(doc["context"]["models"], str) \
        else doc["context"]["models"]
    for m in models:
        m.pop("https", None)
    doc["context"]["models"] = models
    assert tls.refused(load(tmp_path, doc)) == []


def test_cli_writes_the_section(tmp_path):
    out = tmp_path / "report"
    r = subprocess.run(["/usr/bin/python3", str(REPORT), str(FIXTURES / "tls_suite.json"),
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    text = (out / "report.md").read_text()
    assert "## TLS: what https costs each model" in text
    run = rows.load(FIXTURES / "tls_suite.json")
    assert f"{len(run.tls_rows) + len(run.rows)} benchmarks" in r.stdout
