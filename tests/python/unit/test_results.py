"""iobench_tools.results: the name pattern and the model registry, read from the context or, for
older results files, inferred from the names."""
import json

import pytest

from conftest import FIXTURES

from iobench_tools import results


def doc_of(names, registry=None) -> dict:
    ctx = {} if registry is None else {"models": json.dumps(registry)}
    return {"context": ctx, "benchmarks": [
        {"name": f"fetch/{n}/requests:10/delay_ms:0/concurrency:2/bytes:0"} for n in names]}


@pytest.mark.parametrize("impl", ["coroutine", "coroutine_mt", "coroutine2", "coro.v2-x",
                                  "IoUring", "a"])
def test_any_registry_name_is_a_benchmark_name(impl):
    g = results.NAME_RE.match(f"fetch/{impl}/requests:5/delay_ms:10/concurrency:2/bytes:0/close")
    assert g and g["impl"] == impl and g["close"]


@pytest.mark.parametrize("impl", ["", "a b", "a:b", "a/b", "coro+"])
def test_other_names_are_not(impl):
    assert not results.NAME_RE.match(f"fetch/{impl}/requests:5/delay_ms:10/concurrency:2/bytes:0")


def test_the_registry_is_read_from_the_context():
    doc = json.loads((FIXTURES / "models_results.json").read_text())
    want = json.loads(doc["context"]["models"])
    got = results.models(doc)
    assert [m.name for m in got] == [e["name"] for e in want]
    assert [(m.kind, m.one_at_a_time, m.baseline, m.summary) for m in got] == \
        [(e["kind"], e["one_at_a_time"], e["baseline"], e["summary"]) for e in want]
    assert results.baseline(got) == "sequential"


def test_older_files_fall_back_to_what_was_known():
    got = results.models(json.loads((FIXTURES / "quick_results.json").read_text()))
    assert [m.name for m in got] == ["sequential", "thread_pool", "coroutine", "curl_multi",
                                     "py_asyncio", "py_threads", "py_sequential", "wrk"]
    assert {m.name for m in got if m.one_at_a_time} == {"sequential", "py_sequential"}
    assert {m.name for m in got if m.reference} == {"py_asyncio", "py_threads", "py_sequential",
                                                    "wrk"}
    assert [m.name for m in got if m.baseline] == ["sequential"]


def test_the_fallback_takes_unknown_names_for_models_in_order_of_first_appearance():
    got = results.models(doc_of(["zeta9", "sequential", "alpha.1", "zeta9", "wrk"]))
    names = [m.name for m in got]
    assert names.index("zeta9") < names.index("alpha.1") < names.index("py_asyncio")
    new = [m for m in got if m.name in ("zeta9", "alpha.1")]
    assert all(m.kind == "model" and not m.one_at_a_time and not m.baseline for m in new)


def test_names_the_registry_lacks_are_appended_as_models():
    registry = [{"name": "solo", "kind": "model", "one_at_a_time": True, "baseline": True,
                 "summary": "s"}]
    got = results.models(doc_of(["solo", "stray-1"], registry))
    assert [m.name for m in got] == ["solo", "stray-1"]
    assert got[1] == results.Model("stray-1")
    assert results.baseline(got) == "solo"


def test_a_registry_without_baseline_has_none():
    got = results.models(doc_of(["x"], [{"name": "x", "kind": "model"}]))
    assert results.baseline(got) is None


@pytest.mark.parametrize("raw, needle", [
    ("{not json", "not JSON"),
    ('{"name": "x"}', "not a JSON array"),
    ('[{"name": "a/b"}]', "entry 1 has the name 'a/b': a model's name is ASCII"),
    ('["x"]', "entry 1 is a str, not an object with a name"),
    ('[{"name": "x", "kind": "gadget"}]', "unknown kind"),
    ('[{"name": "x"}, {"name": "x"}]', "twice"),
    ('[{"name": "x", "baseline": true}, {"name": "y", "baseline": true}]', "more than one"),
])
def test_a_broken_registry_is_a_results_error(raw, needle):
    doc = doc_of(["x"])
    doc["context"]["models"] = raw
    with pytest.raises(results.ResultsError, match=needle):
        results.models(doc)


def test_an_already_parsed_registry_is_accepted():
    doc = doc_of(["x"])
    doc["context"]["models"] = [{"name": "x", "kind": "reference"}]
    assert results.models(doc) == [results.Model("x", kind="reference")]


# --- rows no consumer may read as they stand ------------------------------------------------

def results_file(tmp_path, doc: dict):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    return path


def ci_run() -> dict:
    return json.loads((FIXTURES / "ci_run.json").read_text())


def test_a_non_ascii_model_name_in_the_registry_is_refused_with_the_rule():
    with pytest.raises(results.ResultsError) as e:
        results.parse_models(json.dumps([{"name": "пример_" + "x" * 100, "kind": "model"}]))
    text = str(e.value)
    assert "context 'models': entry 1 has the name 'пример_xxx" in text
    assert "a model's name is ASCII letters, digits, '_', '.' and '-'" in text
    assert "\\u" not in text
    with pytest.raises(results.ResultsError, match="entry 2 is a list, not an object"):
        results.parse_models(json.dumps([{"name": "a"}, ["b"]]))
    with pytest.raises(results.ResultsError, match="entry 1 has no name"):
        results.parse_models(json.dumps([{"kind": "model"}]))


def test_a_non_ascii_model_name_in_a_benchmark_is_refused_not_left_out(tmp_path):
    doc = ci_run()
    doc["benchmarks"][0]["name"] = doc["benchmarks"][0]["run_name"] = \
        "fetch/пример/requests:10/delay_ms:0/concurrency:2/bytes:0"
    with pytest.raises(results.ResultsError) as e:
        results.read(results_file(tmp_path, doc))
    assert "benchmark 'fetch/пример/requests:10/delay_ms:0/concurrency:2/bytes:0' breaks the " \
        "iobench name pattern" in str(e.value)
    assert "ASCII letters, digits" in str(e.value)


def test_one_repetition_twice_is_refused_and_named(tmp_path):
    doc = ci_run()
    first = next(b for b in doc["benchmarks"] if b.get("run_type") == "iteration")
    doc["benchmarks"].append(dict(first, real_time=first["real_time"] * 2))
    with pytest.raises(results.ResultsError) as e:
        results.read(results_file(tmp_path, doc))
    assert f"{first['run_name']} has repetition {first['repetition_index'] + 1} twice" \
        in str(e.value)


def test_the_factors_are_read_and_default_to_empty():
    got = results.parse_models([{"name": "epoll", "library": "own", "mechanism": "event_loop",
                                 "interface": "epoll"}, {"name": "old"}])
    assert (got[0].library, got[0].mechanism, got[0].interface) == ("own", "event_loop", "epoll")
    assert (got[1].library, got[1].mechanism, got[1].interface) == ("", "", "")


def test_https_rows_are_read_apart_from_plain_batches(tmp_path):
    plain = "fetch/coroutine/requests:10/delay_ms:0/concurrency:2/bytes:0/close"
    doc = {"context": {"models": [{"name": "coroutine", "https": True}]}, "benchmarks": [
        {"name": plain, "run_type": "iteration"},
        {"name": plain + "/tls:1", "run_type": "iteration"},
        {"name": "fetch/coroutine/requests:10/delay_ms:0/concurrency:2/bytes:0/tls:1",
         "run_type": "iteration"}]}
    path = results_file(tmp_path, doc)
    read = results.read(path)
    assert [n for n, _ in results.entries(read, path)] == [plain]
    assert [results.TLS_RE.match(n)["close"] for n, _ in results.tls_entries(read)] == \
        ["/close", None]
    assert [(m.name, m.https) for m in results.models(read)] == [("coroutine", True)]


@pytest.mark.parametrize("suffix", ["/tls:0", "/tls:2", "/tls", "/tls:1/close"])
def test_a_broken_https_suffix_breaks_the_name_pattern(tmp_path, suffix):
    doc = {"benchmarks": [{"name": "fetch/coroutine/requests:10/delay_ms:0/concurrency:2/bytes:0"
                           + suffix, "run_type": "iteration"}]}
    with pytest.raises(results.ResultsError, match="breaks the iobench name pattern"):
        results.read(results_file(tmp_path, doc))


def test_a_file_of_https_rows_alone_says_so(tmp_path):
    doc = {"benchmarks": [{"name": "fetch/curl_multi/requests:10/delay_ms:0/concurrency:2/bytes:0"
                           "/tls:1", "run_type": "iteration"}]}
    path = results_file(tmp_path, doc)
    with pytest.raises(results.NoBenchmarks, match=r"only batches over https \(.../tls:1\)"):
        list(results.entries(results.read(path), path))


def test_the_https_flag_is_read_and_defaults_to_false():
    got = results.parse_models([{"name": "coroutine", "https": True}, {"name": "epoll"}])
    assert [m.https for m in got] == [True, False]
