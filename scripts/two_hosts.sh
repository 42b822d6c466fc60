#!/usr/bin/env bash
# The server on its own host, tried on one machine: puts mock_server in its own network namespace,
# joined to this one by a veth pair, and runs a short iobench suite against it across that link.
#
# usage: scripts/two_hosts.sh [--suite S] [--impls a,b] [--out FILE] [--server-args "..."]
#                             [--iobench-args "..."] [--bin DIR] [-- IOBENCH_ARGS...]
#        scripts/two_hosts.sh --cleanup
#
#   --suite S            iobench suite (default: smoke)
#   --impls a,b          only these models / references (default: all of the suite's)
#   --out FILE           results JSON (default: reports/two_hosts/results.json); the server's log
#                        goes beside it as mock_server.log
#   --server-args "..."  extra mock_server flags, e.g. "--threads 2 --extra-delay 1ms"
#   --iobench-args "..." extra iobench flags (so are any arguments after --)
#   --bin DIR            where iobench and mock_server are (default: $IOBENCH_BIN or build/bin)
#   --cleanup            only remove what killed earlier runs left behind, then exit
#   -h, --help           this text
#
# exit: 0 every benchmark ran clean; 1 a failure (server did not start, iobench failed, a
#       benchmark failed or counted request errors); 2 usage error; 3 network namespaces are not
#       permitted here (not root, no CAP_NET_ADMIN/CAP_SYS_ADMIN, or `ip netns add` fails).
#
# Why a namespace: it has its own network stack. The server listens on 198.18.X.2 inside it and
# the client connects from 198.18.X.1 out here, so no packet takes the loopback shortcut: each one
# leaves through a veth and arrives on the other side as from a NIC, with its own routing, ARP,
# socket tables and per-namespace sysctls (somaxconn and tcp_max_syn_backlog are copied from
# here). `iobench --server URL`, `mock_server --bind ADDR` and the /stats-based counters
# (server_max_in_flight, server_late_p99_ms) are exercised exactly as across two machines. The
# addresses are a /30 from 198.18.0.0/15, the range RFC 2544 reserves for benchmarking, so they
# can never be the outside network (nor can the namespace reach it: it has no default route).
# Names carry this script's PID (namespace iob2h-PID, veth iob2h-PIDh <-> iob2h-PIDn) so that
# concurrent runs do not collide; a run killed with -9 leaves them behind, and the next run (or
# --cleanup) removes those whose PID is no longer a two_hosts.sh.
#
# What it is not: the server still shares this machine's CPUs, memory and kernel with the client,
# so it isolates the network path, not the load. For that, use a second machine with the same two
# flags: there `mock_server --bind 0.0.0.0 --port 8080`, here `iobench --server http://HOST:8080`.
set -euo pipefail

me=two_hosts.sh
die() { echo "$me: $1" >&2; exit "${2:-1}"; }
usage_error() { echo "$me: $1 (see --help)" >&2; exit 2; }

here=$PWD
repo=$(cd "$(dirname "$0")/.." && pwd)
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }

suite=smoke impls="" out="$repo/reports/two_hosts/results.json" server_args="" iobench_args=""
bin="${IOBENCH_BIN:-$repo/build/bin}" cleanup_only=0 extra=()
need_value() { [[ $# -ge 2 && -n $2 ]] || usage_error "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) need_value "$@"; suite=$2; shift 2 ;;
    --impls) need_value "$@"; impls=$2; shift 2 ;;
    --out) need_value "$@"; out=$(abspath "$2"); shift 2 ;;
    --server-args) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; server_args=$2; shift 2 ;;
    --iobench-args) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; iobench_args=$2; shift 2 ;;
    --bin) need_value "$@"; bin=$(abspath "$2"); shift 2 ;;
    --cleanup) cleanup_only=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage_error "unknown option '$1'" ;;
  esac
done
read -ra sargs <<<"$server_args"
read -ra iargs <<<"$iobench_args"
iargs+=("${extra[@]}")
[[ $out == *.json ]] || usage_error "--out must name a .json file (got '$out')"

prefix=iob2h
ns="$prefix-$$" veth_host="$prefix-$$h" veth_ns="$prefix-$$n"

# --- may we create namespaces? (checked after the usage checks: a bad flag is 2 everywhere) ---
has_cap() {  # CAP_NET_ADMIN is bit 12, CAP_SYS_ADMIN (mounting /run/netns) bit 21
  local eff
  eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null) || return 1
  [[ -n $eff ]] && (( (16#$eff >> $1) & 1 ))
}
require_netns() {
  command -v ip >/dev/null || die "needs iproute2's ip (apt-get install iproute2)" 3
  if ! has_cap 12 || ! has_cap 21; then
    die "network namespaces are not permitted: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); try sudo" 3
  fi
}

# --- leftovers of killed runs: names whose PID is no longer a two_hosts.sh ---------------------
owner_alive() {
  [[ $1 == "$$" ]] && return 0
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q two_hosts
}
remove_netns() {  # stop what runs inside, then the namespace (which takes its veth end along)
  local name=$1 p
  for p in $(ip netns pids "$name" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do [[ -z $(ip netns pids "$name" 2>/dev/null) ]] && break; sleep 0.1; done
  for p in $(ip netns pids "$name" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  ip netns delete "$name" 2>/dev/null || true
}
clean_leftovers() {
  local name pid n=0
  for name in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$prefix-[0-9]+\$"); do
    pid=${name#"$prefix"-}
    owner_alive "$pid" && continue
    remove_netns "$name"; n=$((n + 1))
  done
  for name in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
                grep -E "^$prefix-[0-9]+[hn]\$"); do
    pid=${name#"$prefix"-}; pid=${pid%[hn]}
    owner_alive "$pid" && continue
    ip link delete "$name" 2>/dev/null && n=$((n + 1))
  done
  [[ $n -eq 0 ]] || echo "$me: removed $n namespace(s)/veth(s) left behind by killed runs"
}
if [[ $cleanup_only -eq 1 ]]; then
  require_netns
  clean_leftovers
  exit 0
fi

# --- what we need, and a dry run of iobench's arguments (bad ones are usage errors) -------------
command -v curl >/dev/null || die "needs curl (apt-get install curl)"
for b in iobench mock_server; do
  [[ -x $bin/$b ]] || die "$bin/$b is not built (cmake --preset release && cmake --build --preset release), or set --bin / IOBENCH_BIN"
done
impl_args=()
[[ -n $impls ]] && impl_args=(--impls "$impls")
dry_err=$(mktemp)
rc=0
dry=$("$bin/iobench" --suite "$suite" "${impl_args[@]}" --server http://198.18.0.2:1 "${iargs[@]}" \
      --benchmark_list_tests 2>"$dry_err") || rc=$?
msg=$(tail -n 3 "$dry_err"); rm -f "$dry_err"
if [[ $rc -ne 0 ]]; then
  echo "${msg:-$me: iobench --benchmark_list_tests failed}" >&2
  [[ $rc -eq 2 ]] && exit 2
  die "iobench --benchmark_list_tests failed (exit $rc)"
fi
[[ -n $dry ]] || usage_error "no benchmark of suite '$suite' matches these arguments${msg:+ ($msg)}"
require_netns

# --- a free /30 in 198.18.0.0/15, starting from one the PID picks ------------------------------
ip2int() { local IFS=.; read -r a b c d <<<"$1"; echo $(( (a << 24) | (b << 16) | (c << 8) | d )); }
int2ip() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }
taken=()  # [start, end] of every address and route inside 198.18.0.0/15 here
while read -r cidr; do
  [[ $cidr =~ ^([0-9.]+)(/([0-9]+))?$ ]] || continue
  len=${BASH_REMATCH[3]:-32}
  start=$(( $(ip2int "${BASH_REMATCH[1]}") & ~((1 << (32 - len)) - 1) & 0xffffffff ))
  taken+=("$start:$(( start + (1 << (32 - len)) - 1 ))")
done < <({ ip -4 -o addr show | awk '{print $4}'; ip -4 route show table all |
           awk '$1 ~ /^[a-z]+$/ && $1 != "default" {print $2; next} {print $1}'; } |
         grep -E '^198\.1[89]\.' || true)
range=$(ip2int 198.18.0.0) slots=32768 net=""
for ((i = 0; i < slots; i++)); do
  s=$(( range + ((($$ + i) % slots) * 4) )) clash=0
  for t in "${taken[@]}"; do
    (( s <= ${t#*:} && s + 3 >= ${t%%:*} )) && { clash=1; break; }
  done
  [[ $clash -eq 0 ]] && { net=$s; break; }
done
[[ -n $net ]] || die "no free /30 left in 198.18.0.0/15"
host_ip=$(int2ip $((net + 1))) ns_ip=$(int2ip $((net + 2)))

# --- set up, with cleanup on any exit ----------------------------------------------------------
work="" srv_pid="" iob_pid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap '' INT TERM
  set +e
  [[ -n $iob_pid ]] && kill -TERM "$iob_pid" 2>/dev/null
  if [[ -n $srv_pid ]] && kill -0 "$srv_pid" 2>/dev/null; then
    kill -TERM "$srv_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$srv_pid" 2>/dev/null
  fi
  wait 2>/dev/null
  remove_netns "$ns"
  ip link delete "$veth_host" 2>/dev/null
  [[ -n $work ]] && rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

clean_leftovers
err=$(ip netns add "$ns" 2>&1) ||
  die "network namespaces are not permitted here: ip netns add: ${err:-failed}" 3
err=$(ip link add "$veth_host" type veth peer name "$veth_ns" 2>&1) ||
  die "cannot create a veth pair here: ${err:-failed}" 3
ip link set "$veth_ns" netns "$ns"
ip addr add "$host_ip/30" dev "$veth_host"
ip link set "$veth_host" up
ip -n "$ns" addr add "$ns_ip/30" dev "$veth_ns"
ip -n "$ns" link set "$veth_ns" up
ip -n "$ns" link set lo up
# A new namespace starts from the kernel's defaults, not this one's tuning.
for k in net/core/somaxconn net/ipv4/tcp_max_syn_backlog; do
  if v=$(cat "/proc/sys/$k" 2>/dev/null); then
    ip netns exec "$ns" sh -c "echo $v > /proc/sys/$k" 2>/dev/null || true
  fi
done
echo "$me: namespace $ns, veth $veth_host ($host_ip/30) <-> $veth_ns ($ns_ip/30)"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 1048576 2>/dev/null || true
mkdir -p "$(dirname "$out")"
log="$(dirname "$out")/mock_server.log"
work=$(mktemp -d)
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY  # libcurl honours them

ip netns exec "$ns" "$bin/mock_server" --bind "$ns_ip" --port 0 --port-file "$work/url" \
  "${sargs[@]}" >"$log" 2>&1 </dev/null &
srv_pid=$!
url=""
for _ in $(seq 100); do
  [[ -s $work/url ]] && url=$(cat "$work/url") && [[ $url =~ ^http://.+:[0-9]+$ ]] && break
  url=""
  if ! kill -0 "$srv_pid" 2>/dev/null; then
    rc=0; wait "$srv_pid" || rc=$?; srv_pid=""
    echo "$me: mock_server exited ($rc): $(tail -n 1 "$log")" >&2
    [[ $rc -eq 2 ]] && exit 2
    exit 1
  fi
  sleep 0.1
done
[[ -n $url ]] || die "mock_server did not write its port file within 10 s (log: $log)"
for _ in $(seq 50); do
  curl -fsS --max-time 1 "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done || true
curl -fsS --max-time 2 "$url/healthz" >/dev/null 2>&1 ||
  die "$url/healthz does not answer from this side of the veth (log: $log)"
echo "$me: mock_server in $ns answers at $url"

echo "$me: iobench --suite $suite${impls:+ --impls $impls} --server $url${iargs[*]:+ ${iargs[*]}}"
"$bin/iobench" --suite "$suite" "${impl_args[@]}" --server "$url" \
  --benchmark_out="$out" --benchmark_out_format=json "${iargs[@]}" </dev/null &
iob_pid=$!
rc=0; wait "$iob_pid" || rc=$?; iob_pid=""
stats=$(curl -fsS --max-time 2 "$url/stats" 2>/dev/null) || stats=""
[[ $rc -eq 0 ]] || die "iobench failed (exit $rc); server log: $log"

echo "$me: results: $out   (server log: $log)"
summary=0
if [[ -x /usr/bin/python3 ]]; then
  /usr/bin/python3 - "$out" "$stats" <<'EOF' || summary=$?
import json
import sys

rows = [b for b in json.load(open(sys.argv[1])).get("benchmarks", [])
        if b.get("run_type", "iteration") == "iteration"]
failed = [b for b in rows if b.get("error_occurred") or b.get("errors", 0) > 0]
mif = max((b.get("server_max_in_flight", 0) for b in rows), default=0)
print(f"two_hosts.sh: {len(rows)} benchmarks, {len(failed)} failed or with request errors; "
      f"server_max_in_flight up to {mif:.0f} (read from /stats over the veth)")
for b in failed:
    print(f"  {b['name']}: {b.get('error_message') or '%.0f errors' % b.get('errors', 0)}")
if sys.argv[2]:
    s = json.loads(sys.argv[2])
    keys = ("requests", "max_in_flight", "connections_accepted", "bad_requests", "faults")
    print("two_hosts.sh: server /stats (since the last benchmark's reset): "
          + " ".join(f"{k}={s[k]}" for k in keys if k in s)
          + f" late_p99_us={s.get('late_us', {}).get('p99', '?')}")
sys.exit(1 if failed or not rows else 0)
EOF
else
  echo "$me: server /stats: ${stats:-unavailable}"
fi
exit "$summary"
