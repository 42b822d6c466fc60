"""Results documents for the report's tests: quick_pinned.json (a real quick run, server on CPU 0
and client on CPU 1 of a busy 2-CPU VM) and other checked-in runs, read, edited and loaded as the
report loads them."""
import copy
import json

from conftest import FIXTURES

from iobench_tools.report import rows

PINNED = "quick_pinned.json"
LATE = "fetch/py_threads/requests:3/delay_ms:1000/concurrency:3/bytes:0"
OVERFLOWS = "fetch/sequential/requests:200/delay_ms:0/concurrency:1/bytes:65536"
ZERO = "fetch/{impl}/requests:2000/delay_ms:0/concurrency:{c}/bytes:0"


def doc_of(name: str = PINNED) -> dict:
    return json.loads((FIXTURES / name).read_text())


def run_of(doc: dict, tmp_path, name: str = "results.json") -> rows.Run:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return rows.load(path)


def edit(doc: dict, name: str, **values) -> dict:
    doc = copy.deepcopy(doc)
    hit = [b for b in doc["benchmarks"] if b["name"] == name]
    assert hit, name
    for b in hit:
        b.update(values)
    return doc
