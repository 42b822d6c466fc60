#!/usr/bin/env bash
# The main job: install what is missing, build Release, run the benchmark suite with progress,
# write OUT/results.json and the report, print where the report is.
#
# usage: scripts/bench.sh [--suite quick|default|full|seed|ci|scale|open|work] [--out DIR]
#                         [--server URL] [--impls a,b] [--compare BASELINE.json [--allow-missing]]
#                         [--server-cpus L] [--client-cpus L] [--no-pin]
#                         [-- GOOGLE_BENCHMARK_FLAGS...]
#   --suite          which suite (default: default, under 5 minutes here; quick: under 2 minutes)
#   --out            output folder (default: reports/latest), checked before anything is built
#   --server         an already running mock server (default: the suite starts its own)
#   --impls          only these fetchers
#   --compare        judge the run against a baseline with scripts/compare.py; exit 1 on a regression
#   --allow-missing  with --compare: judge only the benchmarks both runs have (for an --impls subset)
#   --server-cpus L, --client-cpus L, --no-pin   where server and client run (see iobench --help)
# exit status: 0 done, 1 a regression or a benchmark that errored (the report is still written),
#   2 bad arguments or an unwritable --out, 128+N interrupted by signal N.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=default out=reports/latest server="" impls="" compare=""
extra=() compare_args=() pin=()
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
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
    --allow-missing) compare_args+=(--allow-missing); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$suite" in quick|default|full|seed|ci|scale|open|work|smoke) ;; *)
  echo "bench.sh: --suite must be quick, default, full, seed, ci, scale, open or work (got '$suite')" >&2; exit 2 ;;
esac
if [[ -n $compare && ! -f $compare ]]; then
  echo "bench.sh: --compare: no such file '$compare'" >&2; exit 2
fi
if [[ ${#compare_args[@]} -gt 0 && -z $compare ]]; then
  echo "bench.sh: --allow-missing only means something with --compare" >&2; exit 2
fi
# The output folder is checked now, not after minutes of building and measuring.
probe="$out/.bench-sh-write-test"
if ! why=$({ mkdir -p -- "$out" && : >"$probe"; } 2>&1); then
  echo "bench.sh: --out: cannot write to '$out' (${why:-not writable})" >&2; exit 2
fi
rm -f -- "$probe"

scripts/install-deps.sh
echo "bench.sh: building (Release)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target iobench mock_server iobench-fetch >/dev/null

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
run_status=0
IOBENCH_GIT_SHA=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) \
  build/bin/iobench "${args[@]}" "${extra[@]}" | tee "$out/console.txt" || run_status=$?
# 1: every result is written but some benchmark errored; the report shows which. Anything else
# (2: bad Google Benchmark flags; 128+N: a signal) left nothing worth reporting.
if [[ $run_status -ne 0 && $run_status -ne 1 ]]; then exit "$run_status"; fi
echo "bench.sh: suite '$suite' took $(( $(date +%s) - start )) s"

# After a run with errored benchmarks, history.py and report.py may have nothing to work with
# (every benchmark errored): each says so in one line, and the run's own status stands.
tolerant() { "$@" || { local rc=$?; [[ $run_status -eq 1 ]] || exit "$rc"; }; }

# Every run joins the history (reports/history.db, not in git); the report draws it once there
# are two runs of the suite.
tolerant /usr/bin/python3 scripts/history.py append "$out/results.json" --db reports/history.db
tolerant /usr/bin/python3 scripts/report.py "$out/results.json" --out "$out" \
  --history reports/history.db
status=$run_status
if [[ -n $compare ]]; then
  compare_status=0
  /usr/bin/python3 scripts/compare.py "${compare_args[@]}" "$compare" "$out/results.json" |
    tee "$out/compare.md" || compare_status=$?
  [[ $compare_status -ne 0 ]] && status=$compare_status
fi
[[ -f $out/index.html ]] && echo "bench.sh: report: $(cd "$out" && pwd)/index.html"
if [[ $run_status -eq 1 ]]; then
  echo "bench.sh: some benchmarks errored (iobench's last line above says which)" >&2
fi
exit $status
