#!/usr/bin/env bash
# The fetchers' headline figures with iobench-fetch against one mock_server (a benchmark, not a
# test). Prints, for each model:
#  (1) N=1000 requests of 100 ms at C=100 and C=1000 (sequential: N=50, C=1): makespan and
#      efficiency = ideal / measured, ideal = ceil(N / C) x 100 ms;
#  (2) zero delay, C=64, keep-alive: req/s, beside `wrk -t1 -c64` against the same server,
#      alternating in one run;
#  (3) N=10,000, C=1000, 100 ms (sequential: N=50): CPU time per request and peak RSS from
#      /usr/bin/time -v.
# usage: scripts/fetch_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

scripts/install-deps.sh >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target mock_server iobench-fetch >/dev/null
ulimit -n "$(ulimit -Hn)"
py=/usr/bin/python3
work=$(mktemp -d)
build/bin/mock_server --port 0 --port-file "$work/url" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -s $work/url ]] && break; sleep 0.05; done
url=$(cat "$work/url")
fetch=build/bin/iobench-fetch
# A model this machine refuses (uring where io_uring is off) says so in one line and is left out.
skipped() { "$fetch" --impl "$1" -n 1 "$url/x" 2>&1 | grep " skipped: "; }

echo "== (1) makespan, 100 ms per request ($url)"
line() {  # impl n c
  "$fetch" --impl "$1" -n "$2" -c "$3" --json "$url/x?delay=100ms" >"$work/out.json" || true
  "$py" - "$work/out.json" <<'EOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
c = d["concurrency"]
ideal = math.ceil(d["requests"] / min(c, d["requests"])) * 0.1
print(f"   {d['impl']:12s} N={d['requests']:5d} C={c:5d}  makespan {d['wall_s']:.3f} s  ideal {ideal:.1f} s"
      f"  efficiency {ideal / d['wall_s']:.3f}  ok {d['succeeded']}/{d['requests']}")
EOF
}
line sequential 50 1
for impl in thread_pool coroutine curl_multi epoll uring; do
  skipped "$impl" && continue
  line "$impl" 1000 100; line "$impl" 1000 1000; done

echo "== (2) zero delay, C=64, keep-alive: req/s (wrk alternating)"
for round in 1 2; do
  w=$(wrk -t1 -c64 -d3s "$url/x" | awk '/Requests\/sec/ {print $2}')
  printf '   round %d  %-12s %9.0f req/s\n' "$round" wrk "$w"
  for impl in coroutine curl_multi epoll uring thread_pool sequential; do
    skipped "$impl" >/dev/null && continue
    n=200000; c=64; [[ $impl == sequential ]] && { n=40000; c=1; }
    r=$("$fetch" --impl "$impl" -n $n -c $c --json "$url/x" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["req_per_s"])')
    printf '   round %d  %-12s %9.0f req/s  (%.3f of wrk, C=%d)\n' "$round" "$impl" "$r" \
      "$("$py" -c "print($r / $w)")" "$c"
  done
done

echo "== (3) CPU per request and peak RSS, N=10000 C=1000 100 ms (/usr/bin/time -v)"
for impl in thread_pool coroutine curl_multi epoll uring sequential; do
  skipped "$impl" >/dev/null && continue
  n=10000; [[ $impl == sequential ]] && n=50
  /usr/bin/time -v "$fetch" --impl "$impl" -n $n -c 1000 --json "$url/x?delay=100ms" \
    >"$work/out.json" 2>"$work/time.txt" || true
  "$py" - "$impl" "$n" "$work/out.json" "$work/time.txt" <<'EOF'
import json, re, sys
impl, n, out, tm = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3])), open(sys.argv[4]).read()
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", tm)[1]) + float(re.search(r"System time \(seconds\): ([\d.]+)", tm)[1])
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tm)[1]) / 1024
print(f"   {impl:12s} N={n:5d} C={out['concurrency']:4d}  makespan {out['wall_s']:.3f} s  "
      f"CPU {cpu * 1e6 / n:6.1f} us/request (whole process)  peak RSS {rss:.1f} MiB  ok {out['succeeded']}/{n}")
EOF
done
