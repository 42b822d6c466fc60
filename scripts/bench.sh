#!/usr/bin/env bash
# The main job: install what is missing, build Release, run the benchmark suite with progress,
# write OUT/results.json and the report, print where the report is.
#
# usage: scripts/bench.sh [--suite quick|default|full|seed|ci|scale|open] [--out DIR] [--server URL]
#                         [--impls a,b] [--compare BASELINE.json] [--server-cpus L]
#                         [--client-cpus L] [--no-pin] [-- GOOGLE_BENCHMARK_FLAGS...]
#   --suite     which suite (default: default, about 3 minutes here; quick: under 2 minutes)
#   --out       output folder (default: reports/latest)
#   --server    an already running mock server (default: the suite starts its own)
#   --impls     only these fetchers
#   --compare   judge the run against a baseline with scripts/compare.py; exit 1 on a regression
#   --server-cpus, --client-cpus, --no-pin   where server and client run (iobench --help)
set -euo pipefail
cd "$(dirname "$0")/.."

suite=default out=reports/latest server="" impls="" compare=""
extra=() pin=()
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
need() { [[ $# -ge 2 && -n "$2" ]] || { echo "bench.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) need "$@"; suite=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --server) need "$@"; server=$2; shift 2 ;;
    --impls) need "$@"; impls=$2; shift 2 ;;
    --compare) need "$@"; compare=$2; shift 2 ;;
    --server-cpus|--client-cpus) need "$@"; pin+=("$1=$2"); shift 2 ;;
    --no-pin) pin+=(--no-pin); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$suite" in quick|default|full|seed|ci|scale|open|smoke) ;; *)
  echo "bench.sh: --suite must be quick, default, full, seed, ci, scale or open (got '$suite')" >&2; exit 2 ;;
esac
if [[ -n $compare && ! -f $compare ]]; then
  echo "bench.sh: --compare: no such file '$compare'" >&2; exit 2
fi

scripts/install-deps.sh
echo "bench.sh: building (Release)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target iobench mock_server iobench-fetch >/dev/null

mkdir -p "$out"
args=(--suite "$suite" --benchmark_out="$out/results.json" --benchmark_out_format=json)
[[ -n $server ]] && args+=(--server "$server")
[[ -n $impls ]] && args+=(--impls "$impls")
args+=("${pin[@]}")
# Repetitions of different benchmarks interleave, so a slow minute on a shared machine spreads
# over all of them instead of landing on one.
[[ $suite == ci ]] && args+=(--benchmark_enable_random_interleaving=true)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "bench.sh: running suite '$suite' (progress on stderr; table in $out/console.txt)"
start=$(date +%s)
IOBENCH_GIT_SHA=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) \
  build/bin/iobench "${args[@]}" "${extra[@]}" | tee "$out/console.txt"
echo "bench.sh: suite '$suite' took $(( $(date +%s) - start )) s"

# Every run joins the history (reports/history.db, not in git); the report draws it once there
# are two runs of the suite.
/usr/bin/python3 scripts/history.py append "$out/results.json" --db reports/history.db
/usr/bin/python3 scripts/report.py "$out/results.json" --out "$out" --history reports/history.db
status=0
if [[ -n $compare ]]; then
  /usr/bin/python3 scripts/compare.py "$compare" "$out/results.json" | tee "$out/compare.md" || status=$?
fi
echo "bench.sh: report: $(cd "$out" && pwd)/index.html"
exit $status
