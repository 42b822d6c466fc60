#!/usr/bin/env bash
# Regenerates the regression gate's baseline, reports/baseline/ci.json: runs the ci suite N times
# on this machine (default 3) and merges their repetitions, so the baseline holds the spread
# between runs as well as within one. Prints that spread (scripts/spread.py) for
# reports/baseline/README.md. Run it on an idle machine, after a change that is meant to move the
# numbers, and commit the result.
#
# usage: scripts/update-baseline.sh [--runs N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 out=reports/baseline/ci.json
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "update-baseline.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[0-9]+$ && $runs -ge 1 ]] || { echo "update-baseline.sh: --runs must be a positive integer" >&2; exit 2; }

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target iobench mock_server >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=()
for i in $(seq "$runs"); do
  echo "update-baseline.sh: ci suite, run $i of $runs"
  IOBENCH_GIT_SHA=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) \
    build/bin/iobench --suite ci --benchmark_enable_random_interleaving=true \
    --benchmark_out="$work/run$i.json" --benchmark_out_format=json >/dev/null
  files+=("$work/run$i.json")
done

mkdir -p "$(dirname "$out")"
/usr/bin/python3 - "$out" "${files[@]}" <<'PY'
import json, sys
out, files = sys.argv[1], sys.argv[2:]
docs = [json.load(open(f)) for f in files]
merged = {"context": dict(docs[-1]["context"], baseline_runs=len(docs)), "benchmarks": []}
for d in docs:
    merged["benchmarks"] += [b for b in d["benchmarks"] if b.get("run_type") == "iteration"]
json.dump(merged, open(out, "w"), indent=1)
print(f"update-baseline.sh: {out}: {len(merged['benchmarks'])} repetitions from {len(docs)} runs")
PY
if [[ $runs -ge 2 ]]; then /usr/bin/python3 scripts/spread.py "${files[@]}"; fi
