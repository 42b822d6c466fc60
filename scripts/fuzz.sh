#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan+UBSan) and runs each for a bounded
# time from its corpus in fuzz/corpus/<target>/. Exit 0: no finding; 1: a finding (the input is
# saved under reports/fuzz/<target>/ and the command that reproduces it is printed); 2: usage.
#   scripts/fuzz.sh [--seconds S] [--target server|fetchers|behaviour] [--keep-going]
#     --seconds S    per target (default 60)
#     --target NAME  one target (default: all three, one after another)
#     --keep-going   do not stop at the first finding: collect them all (libFuzzer -fork=1)
# New inputs that add coverage go to reports/fuzz/corpus/<target>/ (merge them into fuzz/corpus/
# by hand: libFuzzer -merge=1 keeps the few that matter); the log of each run to
# reports/fuzz/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=(server fetchers behaviour)
keep_going=0
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds)
      [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds needs a positive integer" >&2; exit 2; }
      seconds=$2; shift 2 ;;
    --target)
      [[ $# -ge 2 && $2 =~ ^(server|fetchers|behaviour)$ ]] || {
        echo "fuzz.sh: --target is one of server, fetchers, behaviour" >&2; exit 2; }
      targets=("$2"); shift 2 ;;
    --keep-going) keep_going=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
[[ -f build/fuzz/CMakeCache.txt ]] || cmake --preset fuzz >/dev/null
mkdir -p reports/fuzz
if ! cmake --build --preset fuzz -j "$(nproc)" >reports/fuzz/build.log 2>&1; then
  tail -40 reports/fuzz/build.log >&2
  echo "fuzz.sh: the build failed (reports/fuzz/build.log)" >&2
  exit 1
fi

# Per-target libFuzzer options. A single allocation of 4 MiB or more is a finding
# (-malloc_limit_mb): the server's and clients' request and header limits are far below it, and
# the targets' flood inputs send 8 MiB, so a parser that buffers without bound is caught with
# its stack. An input that runs for a minute is a hang (-timeout).
common_flags=(-dict=fuzz/http.dict -timeout=60 -rss_limit_mb=2560 -print_final_stats=1
              -max_total_time="$seconds")
declare -A target_flags=(
  [server]="-malloc_limit_mb=4 -max_len=4096"
  [fetchers]="-malloc_limit_mb=4 -max_len=4096"
  [behaviour]="-malloc_limit_mb=64 -max_len=1024"
)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

report_lines='iobench-fuzz: FINDING|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY'
found=0
for t in "${targets[@]}"; do
  bin=build/fuzz/bin/fuzz_$t
  out=reports/fuzz/$t
  work=reports/fuzz/corpus/$t
  log=reports/fuzz/$t.log
  mkdir -p "$out" "$work"
  before=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) ! -name '*.log' | sort)
  seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
  # shellcheck disable=SC2206
  flags=("${common_flags[@]}" ${target_flags[$t]} -artifact_prefix="$out/")
  [[ $keep_going -eq 1 ]] && flags+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  echo "fuzz.sh: $t for ${seconds} s ($seeds seeds in fuzz/corpus/$t, log $log)"
  rc=0
  # The limit on the wall clock covers loading the corpus and a last input that hangs.
  timeout -k 10 $((seconds + 120)) "$bin" "${flags[@]}" "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?

  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  if [[ -z $execs ]]; then  # a run that stopped at a finding prints no final stats
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last" || true)
    rate=$(sed -n 's/.*exec\/s:\{0,1\} *\([0-9]*\).*/\1/p' <<<"$last" || true)
  fi
  total=$(find "$work" -type f | wc -l)
  echo "fuzz.sh: $t: ${execs:-0} execs, ${rate:-?} execs/s, corpus $seeds seeds + $total in $work, exit $rc"

  after=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) ! -name '*.log' | sort)
  new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d' || true)
  if [[ $rc -ne 0 || -n $new ]]; then
    found=1
    echo "fuzz.sh: $t: FINDING (exit $rc)" >&2
    [[ $keep_going -eq 1 ]] || grep -m3 -E "$report_lines" "$log" | sed 's/^/  /' >&2 || true
    for f in $new; do
      echo "  input: $f" >&2
      # shellcheck disable=SC2086
      if [[ $keep_going -eq 1 ]]; then
        # Fork mode keeps one line of each report: replay the input for the whole of it.
        timeout -k 10 120 "$bin" ${target_flags[$t]} -timeout=60 "$f" >"$f.log" 2>&1 &&
          echo "  (did not fail again when replayed alone: it depends on earlier inputs or on timing)" >&2
        grep -m2 -E "$report_lines" "$f.log" | sed 's/^/  /' >&2 || true
        echo "  report: $f.log" >&2
      fi
      echo "  reproduce: $bin ${target_flags[$t]} -timeout=60 $f" >&2
    done
    [[ -n $new ]] || echo "  no input was saved; see $log" >&2
  fi
done
exit $found
