#!/usr/bin/env bash
# Moves the regression gate's baseline, after a change that is meant to move the numbers:
#   - reports/baseline/commit names the commit .ci/run measures against with scripts/ab.sh (both
#     revisions built and run on the CI machine itself, interleaved);
#   - reports/baseline/ci.json is the ci suite measured here, N runs merged (default 3), kept for
#     history and for users who gate on a dedicated machine with scripts/compare.py.
# Commit both files afterwards. The baseline commit must be one CI's clone has: a commit already
# on main (usually the one that moved the numbers, i.e. HEAD once it is committed), and ci.json
# must measure that commit, so the script refuses a working tree with uncommitted changes to what
# it builds. One command does it all: sets the commit, builds Release, runs the ci suite N times,
# merges them, prints their spread and, per model, which rows the gate judges on timing here
# (the rest are server-bound on this machine: only the client's own cost is judged there). Run it
# on an idle machine; it says so when the load average says otherwise.
#
# usage: scripts/update-baseline.sh [--commit REF] [--runs N] [--out FILE] [--commit-only]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 out=reports/baseline/ci.json ref=HEAD record=1
die() { echo "update-baseline.sh: $*" >&2; exit 2; }
need() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) need "$@"; runs=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --commit) need "$@"; ref=$2; shift 2 ;;
    --commit-only) record=0; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
sha=$(git rev-parse --verify --quiet "$ref^{commit}") || die "'$ref' is not a commit"

# ci.json measures this working tree: it must be the baseline commit's.
built=(bench impls mock_server common CMakeLists.txt CMakePresets.json)
if [[ $record -eq 1 ]] && ! git diff --quiet "$sha" -- "${built[@]}"; then
  die "the working tree's sources differ from ${sha:0:12}: ci.json would measure them, not the" \
    "baseline commit (commit them first, or check out ${sha:0:12})"
fi

cat >reports/baseline/commit <<EOF
# The commit the regression gate measures against: .ci/run builds it and the submitted tree on
# the same machine and compares them with scripts/ab.sh. Set by scripts/update-baseline.sh.
$sha
EOF
echo "update-baseline.sh: baseline commit ${sha:0:12} ($(git log -1 --format=%s "$sha"))"
[[ $record -eq 1 ]] || exit 0

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > 0.25 * n) }'; then
  echo "update-baseline.sh: note: load average $load on $(nproc) CPUs: something else is" \
    "running, so these numbers are provisional; rerun on an idle machine" >&2
fi
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target iobench mock_server >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=()
for i in $(seq "$runs"); do
  echo "update-baseline.sh: ci suite, run $i of $runs"
  IOBENCH_GIT_SHA=${sha:0:12} \
    build/bin/iobench --suite ci --benchmark_enable_random_interleaving=true \
    --benchmark_out="$work/run$i.json" --benchmark_out_format=json >/dev/null
  files+=("$work/run$i.json")
done
mkdir -p "$(dirname "$out")"
/usr/bin/python3 scripts/merge_runs.py "$out" "${files[@]}"
if [[ $runs -ge 2 ]]; then /usr/bin/python3 scripts/spread.py "${files[@]}"; fi
# The merged run judged against itself: which rows are server-bound here, per model.
/usr/bin/python3 scripts/compare.py "$out" "$out" 2>/dev/null | sed -n '/^Judged where/,$p'
echo "update-baseline.sh: now commit reports/baseline/commit and $out"
