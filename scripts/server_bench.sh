#!/usr/bin/env bash
# The mock server's two promises, measured on this machine (a benchmark, not a test):
#  (a) zero-delay throughput: wrk -t1 -c64 against mock_server and against nginx (`return 200`,
#      the same 16-byte body, one worker each), alternating in one run; prints each round, the
#      medians and their ratio. Requirement: ratio >= 0.9; target >= 1.0.
#  (b) timer accuracy: waves of 10,000 concurrent connections each with one delayed request
#      (build/bin/mock_server_wave), then the server's late_us p50/p99/max from /stats.
#      Requirement: p99 lateness <= 1 ms.
# usage: scripts/server_bench.sh [--rounds N] [--duration D] [--connections N] [--waves N]
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 duration=5s connections=10000 waves=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --waves) waves=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "server_bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target mock_server mock_server_wave >/dev/null
py=/usr/bin/python3
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server_bench.sh: $1 did not come up" >&2; exit 1; }

body=0123456789abcdef
build/bin/mock_server --port 0 --port-file "$work/url" --bytes ${#body} >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/url ]] && break; sleep 0.05; done
mock_url=$(cat "$work/url")

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $work/nginx/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location / { return 200 "$body"; }
  }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
nginx_url="http://127.0.0.1:$nginx_port"
wait_for "$mock_url/healthz"
wait_for "$nginx_url/"

echo "== (a) zero-delay throughput: wrk -t1 -c64 -d$duration, $rounds rounds, alternating"
echo "   mock_server: $mock_url/ (1 thread)   nginx $(nginx -v 2>&1 | sed 's/.*\///'): $nginx_url/ (1 worker)"
rps() { wrk -t1 -c64 -d"$duration" "$1" | awk '/Requests\/sec/ {print $2}'; }
mock_rps=() nginx_rps=()
for r in $(seq "$rounds"); do
  m=$(rps "$mock_url/"); n=$(rps "$nginx_url/")
  mock_rps+=("$m"); nginx_rps+=("$n")
  printf '   round %d: mock_server %10.0f req/s   nginx %10.0f req/s   ratio %.3f\n' "$r" "$m" "$n" \
    "$("$py" -c "print($m/$n)")"
done
"$py" - "${mock_rps[*]}" "${nginx_rps[*]}" <<'EOF'
import statistics, sys
m = [float(x) for x in sys.argv[1].split()]
n = [float(x) for x in sys.argv[2].split()]
ratio = statistics.median(m) / statistics.median(n)
print(f"   median: mock_server {statistics.median(m):.0f} req/s, nginx {statistics.median(n):.0f} req/s,"
      f" ratio {ratio:.3f} (requirement >= 0.9, target >= 1.0): {'PASS' if ratio >= 0.9 else 'FAIL'}")
EOF

# (b) A wave opens every connection first, then sends one request on each, then reads: only so
# can N requests be in flight at once (a client that connects and sends in one go spreads them
# over its connection ramp). Two shapes: the burst the requirement names (delay=100ms, requests
# sent back-to-back), and a paced wave (delay=1s, requests spread over 500 ms) that keeps all N
# timers pending while leaving the CPU unsaturated, which isolates timer precision from
# throughput.
wave() {  # wave LABEL DELAY SPREAD
  for w in $(seq "$waves"); do
    curl -fs -X POST "$mock_url/stats/reset" >/dev/null
    out=$(build/bin/mock_server_wave -n "$connections" --spread "$3" \
          "$mock_url/t?delay=$2&bytes=${#body}") || true
    stats=$(curl -fs "$mock_url/stats")
    "$py" - "$1" "$w" "$out" "$stats" <<'EOF2'
import json, sys
label, w, wave, stats = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
late = stats["late_us"]
print(f"   {label} wave {w}: {wave['ok']}/{wave['connections']} ok, sent in {wave['send_s']*1000:.0f} ms,"
      f" server max_in_flight {stats['max_in_flight']}, late_us p50 {late['p50']} p99 {late['p99']}"
      f" max {late['max']} (requirement p99 <= 1000): {'PASS' if late['p99'] <= 1000 else 'FAIL'}")
EOF2
    sleep 1
  done
}
echo "== (b) timer accuracy: $connections concurrent connections, $waves waves per shape (mock_server_wave)"
wave "burst  delay=100ms" 100ms 0ms
wave "paced  delay=1s over 500ms" 1s 500ms
