#!/usr/bin/env bash
# A/B regression gate: measures two revisions on this machine, interleaved, and judges HEAD
# against BASE with scripts/compare.py. Absolute numbers differ between machines (even two VMs of
# one kind); the difference between two revisions measured side by side on one machine does not.
#
# usage: scripts/ab.sh BASE_REF [HEAD_REF] [--suite ci] [--rounds K] [--out DIR] [--impls a,b]
#                      [--summary FILE] [--no-confirm] [--allow-missing]
#                      [-- GOOGLE_BENCHMARK_FLAGS...]
#   BASE_REF    any commit whose iobench has the suite (a sha, a tag, HEAD~3, origin/main)
#   HEAD_REF    the revision judged; default: this working tree as it is (uncommitted changes
#               included), built in build/ like scripts/test.sh does
#   --suite     the suite both run (default ci)
#   --rounds    K rounds of base then head, each the suite's repetitions (default 2)
#   --out       where runs, merged results, the verdict and the head's report go (default
#               reports/ab)
#   --impls     only these models, passed to both
#   --summary   append the verdict in CI-summary form (compare.py --format github) to FILE,
#               e.g. "$GITHUB_STEP_SUMMARY"
#   --no-confirm  fail on the first judgement instead of re-measuring flagged benchmarks once
#   --allow-missing  benchmarks of the base that the head lacks are listed instead of failing
#               (compare.py --allow-missing); one that reported an error fails all the same
# Each commit is built once, in a git worktree under build/ab/<sha>/ (Release, only iobench and
# mock_server; ccache when installed), and reused by later runs. A regression flagged by the
# first judgement is re-measured in one more round of just those benchmarks, and fails only if that
# round flags it again; the verdict says which were confirmed.
# SIGINT or SIGTERM stops what runs (iobench and its mock_server, a build), removes a worktree
# whose build it cut short, and exits 130 or 143.
# Exit: 0 pass, 1 confirmed regression, 2 could not run (bad ref, build failure, no such suite).
set -euo pipefail
# Job control: each child runs in a process group of its own, so that an interrupt can stop its
# whole tree (a build's compilers, iobench's mock_server) and nothing else.
set -m
cd "$(dirname "$0")/.."
root=$PWD

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "ab.sh: $*" >&2; exit 2; }
need() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }

suite=ci rounds=2 out=reports/ab impls="" summary="" confirm=1
refs=() extra=() allow=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) need "$@"; suite=$2; shift 2 ;;
    --rounds) need "$@"; rounds=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --impls) need "$@"; impls=$2; shift 2 ;;
    --summary) need "$@"; summary=$2; shift 2 ;;
    --no-confirm) confirm=0; shift ;;
    --allow-missing) allow=(--allow-missing); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) refs+=("$1"); shift ;;
  esac
done
[[ ${#refs[@]} -ge 1 ]] || die "missing BASE_REF (see --help)"
[[ ${#refs[@]} -le 2 ]] || die "too many revisions: ${refs[*]} (BASE_REF [HEAD_REF])"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer (got '$rounds')"
mkdir -p "$out" 2>/dev/null && [[ -w $out ]] || die "--out: cannot write to '$out'"
out=$(cd "$out" && pwd)

# ab.sh's own stderr, kept on fd 3: an interrupt lands while a child's output is redirected to
# its log, and the handler's words belong on the terminal.
exec 3>&2
child=""     # the running child's pid, which is also its process group
building=""  # the worktree being built, removed if the build is cut short
# How long a child has to stop after SIGTERM (iobench stops its mock_server within 2 s) before
# its process group is killed.
kGraceSeconds=5

# Runs a command as a job of its own and waits for it; an interrupt meanwhile stops it.
run_child() {
  "$@" 3>&- &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return $rc
}

# Stops the child's process group: SIGTERM, then SIGKILL for what is left after the grace.
stop_child() {
  [[ -n $child ]] || return 0
  kill -TERM -- "-$child" 2>/dev/null || true
  (sleep "$kGraceSeconds"; kill -KILL -- "-$child" 2>/dev/null) &
  local timer=$!
  wait "$child" 2>/dev/null || true
  kill -KILL -- "-$timer" 2>/dev/null || true
  wait "$timer" 2>/dev/null || true
  kill -KILL -- "-$child" 2>/dev/null || true  # whatever outlived its leader
  child=""
}

on_signal() {
  trap '' INT TERM  # a second signal does not cut the clean-up short
  exec 2>&3
  echo "ab.sh: interrupted by SIG$1: stopping the measurement" >&2
  stop_child
  if [[ -n $building ]]; then
    rm -rf "$building"
    git worktree prune >&2
    echo "ab.sh: removed the unfinished build of ${building##*/}" >&2
  fi
  exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

resolve() {
  git rev-parse --verify --quiet "$1^{commit}" ||
    die "'$1' is not a commit here (a shallow clone? fetch more history: git fetch --unshallow)"
}
base_sha=$(resolve "${refs[0]}")
head_sha="" head_label=""
if [[ ${#refs[@]} -eq 2 ]]; then
  head_sha=$(resolve "${refs[1]}")
  head_label="${refs[1]} (${head_sha:0:12})"
else
  head_label="working tree at $(git rev-parse --short=12 HEAD)"
  [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && head_label+=" + changes"
fi

scripts/install-deps.sh >/dev/null

# Builds a commit in its own worktree (once; later runs reuse it); sets built_bin to its bin folder.
build_commit() {
  local sha=$1 dir=$root/build/ab/$1
  built_bin=$dir/src/build/bin
  if [[ -f $dir/built && -x $built_bin/iobench ]]; then
    return
  fi
  echo "ab.sh: building ${sha:0:12} in build/ab/${sha:0:12}... (log: $dir/build.log)" >&2
  building=$dir
  git worktree prune
  rm -rf "$dir"
  mkdir -p "$dir"
  git worktree add --quiet --detach --force "$dir/src" "$sha" >"$dir/build.log" 2>&1 ||
    { cat "$dir/build.log" >&2; die "cannot check out ${sha:0:12}"; }
  # ccache with paths taken relative to the source tree: a worktree build then reuses the objects
  # of every other build of the same sources (build/, other commits) instead of compiling again.
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  if ! run_child cmake -S "$dir/src" -B "$dir/src/build" -DCMAKE_BUILD_TYPE=Release \
         -DBUILD_TESTING=OFF "${launcher[@]}" >>"$dir/build.log" 2>&1 ||
     ! CCACHE_BASEDIR=$dir/src CCACHE_NOHASHDIR=1 run_child cmake --build "$dir/src/build" \
         -j "$(nproc)" --target iobench mock_server >>"$dir/build.log" 2>&1; then
    tail -n 30 "$dir/build.log" >&2
    die "building ${sha:0:12} failed (whole log: $dir/build.log)"
  fi
  touch "$dir/built"
  building=""
}

build_commit "$base_sha"
base_bin=$built_bin
if [[ -n $head_sha ]]; then
  build_commit "$head_sha"
  head_bin=$built_bin
  head_src=$(dirname "$(dirname "$head_bin")")
else
  echo "ab.sh: building the working tree (build/, Release)" >&2
  { run_child cmake --preset release &&
      run_child cmake --build --preset release -j "$(nproc)" --target iobench mock_server; } \
    >"$out/head-build.log" 2>&1 ||
    { tail -n 30 "$out/head-build.log" >&2; die "building the working tree failed"; }
  head_bin=$root/build/bin
  head_src=$root
fi

for side in base head; do
  bin_var=${side}_bin
  "${!bin_var}/iobench" --suite "$suite" --benchmark_list_tests >/dev/null 2>&1 ||
    die "the $side revision's iobench has no suite '$suite'"
done

# Sockets for up to 10,000 connections, as bench.sh allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
args=(--suite "$suite" --benchmark_enable_random_interleaving=true)
[[ -n $impls ]] && args+=(--impls "$impls")
# What an earlier run left here must not pass for this run's verdict.
rm -rf "$out/runs" "$out/report" "$out"/{base,head,first}.json "$out"/{first,compare,report}.err \
  "$out"/{compare,summary}.md
mkdir -p "$out/runs"

# One measurement: the side's own iobench with its own mock_server child, the same flags for both.
measure() {
  local side=$1 tag=$2 bin sha
  shift 2
  bin_var=${side}_bin
  bin=${!bin_var}
  sha=$([[ $side == base ]] && echo "$base_sha" || echo "${head_sha:-$(git rev-parse HEAD)}")
  local rc=0
  IOBENCH_GIT_SHA=${sha:0:12} run_child "$bin/iobench" "${args[@]}" "${extra[@]}" "$@" \
    --benchmark_out="$out/runs/$side-$tag.json" --benchmark_out_format=json \
    >"$out/runs/$side-$tag.txt" 2>"$out/runs/$side-$tag.err" || rc=$?
  # Exit 1: every result is written but some benchmark errored; compare.py fails those by name.
  if [[ $rc -ne 0 && ! ($rc -eq 1 && -s $out/runs/$side-$tag.json) ]]; then
    tail -n 20 "$out/runs/$side-$tag.err" >&2
    die "the $side run ($tag) failed (see $out/runs/$side-$tag.err)"
  fi
}

start=$(date +%s)
echo "ab.sh: base ${refs[0]} (${base_sha:0:12}) vs head $head_label: suite '$suite', $rounds" \
  "round(s), base then head" >&2
for r in $(seq "$rounds"); do
  for side in base head; do
    echo "ab.sh: round $r/$rounds: $side ($(( $(date +%s) - start )) s)" >&2
    measure "$side" "r$r"
  done
done
py=/usr/bin/python3
merge() { "$py" scripts/merge_runs.py "$@" >/dev/null || die "cannot merge the runs"; }
base_runs=() head_runs=()
for r in $(seq "$rounds"); do base_runs+=("$out/runs/base-r$r.json"); head_runs+=("$out/runs/head-r$r.json"); done
merge "$out/base.json" "${base_runs[@]}"
merge "$out/head.json" "${head_runs[@]}"

thresholds=()
[[ -f $head_src/reports/baseline/thresholds.json ]] &&
  thresholds=(--thresholds "$head_src/reports/baseline/thresholds.json")
judge() {
  "$py" scripts/compare.py "$out/base.json" "$out/head.json" "${thresholds[@]}" "${allow[@]}" "$@"
}

status=0
judge --format json >"$out/first.json" 2>"$out/first.err" || status=$?
[[ $status -eq 2 ]] && { cat "$out/first.err" >&2; die "compare.py could not judge the runs"; }
final=()
if [[ $status -eq 1 && $confirm -eq 1 ]]; then
  # Re-measure only what was flagged (slower, or failing requests): one more round, base then
  # head, judged alone. Missing or errored benchmarks fail as they are: nothing to re-measure.
  filter=$("$py" - "$out/first.json" <<'PY'
import json, re, sys
names = sorted({r["benchmark"] for r in json.load(open(sys.argv[1]))["regressions"]})
# Google Benchmark filters on its internal names: the contract name, then /iterations:... etc.
if names:
    print("^(" + "|".join(map(re.escape, names)) + ")/(iterations|repeats|real_time|manual_time)")
PY
)
  if [[ -n $filter ]]; then
    flagged=$("$py" -c 'import json, sys
print(len({r["benchmark"] for r in json.load(open(sys.argv[1]))["regressions"]}))' "$out/first.json")
    echo "ab.sh: regressions flagged in $flagged benchmark(s); re-measuring them in a" \
      "confirming round" >&2
    measure base confirm "--benchmark_filter=$filter"
    measure head confirm "--benchmark_filter=$filter"
    final=(--confirm "$out/runs/base-confirm.json" "$out/runs/head-confirm.json")
  fi
fi

status=0
judge "${final[@]}" --format markdown >"$out/compare.md" 2>"$out/compare.err" || status=$?
[[ $status -eq 2 ]] && { cat "$out/compare.err" >&2; die "compare.py could not judge the runs"; }
judge "${final[@]}" --format github >"$out/summary.md" 2>/dev/null || true
cat "$out/compare.md"
cat "$out/compare.err" >&2
[[ -n $summary ]] && cat "$out/summary.md" >>"$summary"
run_child "$py" scripts/report.py "$out/head.json" --out "$out/report" >/dev/null \
  2>"$out/report.err" ||
  echo "ab.sh: note: the head's report could not be drawn (see $out/report.err)" >&2
echo "ab.sh: $( [[ $status -eq 0 ]] && echo PASS || echo FAIL ) in $(( $(date +%s) - start )) s;" \
  "verdict $out/compare.md, head's report $out/report/index.html" >&2
exit $status
