"""Results documents for the gate's tests: the checked-in ci run (ci_run.json), copies of it
slowed or with failed requests, and the gate run on two of them (the command, or in-process)."""
import copy
import json
import subprocess
from pathlib import Path

from conftest import FIXTURES, ROOT

from iobench_tools import gate

COMPARE = ROOT / "scripts" / "compare.py"
SLOW = "fetch/coroutine/requests:200/delay_ms:20/concurrency:50/bytes:0"
ZERO = "fetch/curl_multi/requests:3000/delay_ms:0/concurrency:32/bytes:0"


def base_doc() -> dict:
    return json.loads((FIXTURES / "ci_run.json").read_text())


def slowed(doc: dict, name: str, factor: float) -> dict:
    """Every repetition of `name` made `factor` times slower, consistently across its metrics."""
    doc = copy.deepcopy(doc)
    for b in doc["benchmarks"]:
        if b["name"] == name and b.get("run_type") == "iteration":
            b["real_time"] *= factor
            for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_req"):
                b[k] *= factor
            for k in ("req_per_s", "efficiency"):
                b[k] /= factor
    return doc


def run_compare(tmp_path: Path, baseline: dict, current: dict, *flags):
    b, c = tmp_path / "baseline.json", tmp_path / "current.json"
    b.write_text(json.dumps(baseline))
    c.write_text(json.dumps(current))
    return subprocess.run(["/usr/bin/python3", str(COMPARE), str(b), str(c), *flags],
                          capture_output=True, text=True, timeout=60)


SEQ = "fetch/sequential/requests:20/delay_ms:20/concurrency:1/bytes:0"
THRESHOLDS = {m: t for m, (_, t, _) in gate.METRICS.items()}


def repetitions(doc: dict, name: str | None = None) -> list[dict]:
    return [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"
            and (name is None or b["name"] == name)]


def failing(doc: dict, name: str = SLOW, errors: float = 975, iterations: int = 6,
            efficiency: float = 3.55, which: range | None = None) -> dict:
    """`name` as a real run broke it with `--max-connections 5`: 975 of its 200 x 6 requests
    failed, fast, so its batch beat the ideal (efficiency 3.55)."""
    doc = copy.deepcopy(doc)
    for i, b in enumerate(repetitions(doc, name)):
        if which is None or i in which:
            b.update(errors=float(errors), iterations=iterations, efficiency=efficiency)
            b["real_time"] /= 4
            b["req_per_s"] *= 4
    return doc


def judged(tmp_path: Path, baseline: dict, current: dict, allow_missing: bool = False) -> dict:
    b, c = tmp_path / "jb.json", tmp_path / "jc.json"
    b.write_text(json.dumps(baseline))
    c.write_text(json.dumps(current))
    return gate.judge(gate.load(b), gate.load(c), THRESHOLDS, 0.05, allow_missing)
