"""The regression gate's parts: samples (loading results, the metrics, thresholds), judge (the
verdict) and render (markdown, JSON, a CI job summary). Its command line is commands/compare.py,
run as scripts/compare.py. The names below are its API."""
from iobench_tools.gate.judge import confirm, failed_requests, judge
from iobench_tools.gate.render import fmt_value, github, markdown, stderr_lines, to_json
from iobench_tools.gate.samples import (DEFAULT_ALPHA, METRICS, MIN_REPETITIONS, NOT_JUDGED,
                                        InputError, add_speedups, applies, load, load_thresholds)

__all__ = ["DEFAULT_ALPHA", "METRICS", "MIN_REPETITIONS", "NOT_JUDGED", "InputError",
           "add_speedups", "applies", "confirm", "failed_requests", "fmt_value", "github", "judge",
           "load", "load_thresholds", "markdown", "stderr_lines", "to_json"]
