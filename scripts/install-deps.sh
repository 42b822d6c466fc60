#!/usr/bin/env bash
# Installs the packages iobench needs, only those that are missing. Idempotent: when everything is
# present it prints one line and changes nothing. Knows Debian 12 and 13 and Ubuntu 24.04; says what
# it cannot do elsewhere (Ubuntu 22.04 packages Boost 1.74 only, and iobench needs Boost >= 1.81).
#   IOBENCH_DEPS_DISTRO=debian:13 scripts/install-deps.sh --print   the package list, no install
#   (debian:12, debian:13, ubuntu:24.04)
set -euo pipefail

print_only=0
case "${1:-}" in
  "") ;;
  --print) print_only=1 ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

distro=${IOBENCH_DEPS_DISTRO:-}
pretty=$distro
if [[ -z $distro && -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  distro="${ID:-unknown}:${VERSION_ID:-}"
  pretty=${PRETTY_NAME:-$distro}
fi

# The same needs on every distribution; only some names differ. Boost ships versioned packages,
# and Boost.URL/JSON compiled libraries come separately (CMake builds them from their headers when
# they are missing, so those two are a convenience, not a requirement).
common=(
  g++ make cmake git curl ca-certificates pkg-config ccache
  libcurl4-openssl-dev libssl-dev libbenchmark-dev libgtest-dev googletest liburing-dev
  python3 python3-matplotlib python3-numpy python3-pytest python3-aiohttp python3-yaml
  python3-uvloop nodejs golang-go
  python3-pyflakes python3-pycodestyle
  wrk time procps iproute2 util-linux
  clang libclang-rt-dev
  clang-format
  debootstrap
)
# clang (the distribution's default: 14 on Debian 12, 19 on Debian 13, 18 on Ubuntu 24.04) and its
# runtimes (libFuzzer, the sanitizers; only recommended by clang, so named) are for scripts/fuzz.sh
# alone: everything else builds with g++. clang-format checks the C++'s layout (tests/python/
# project/test_lint.py, with Debian 12's 14 only). debootstrap is for scripts/fresh-root.sh alone.
# python3-uvloop, nodejs and golang-go are the references' runtimes (py_uvloop, node_fetch,
# go_goroutines: docs/models.md); without one, its rows are skipped with one line.
# chromium (Debian's) renders the report headless for its layout test (tests/python/e2e/
# test_report_layout.py): every table fits a 1280-pixel window.
# python3-scipy is deliberately absent: on Debian 12 it depends on python3-pythran, which depends
# on libboost-dev (1.74), and that conflicts with libboost1.81-dev. scripts/compare.py carries its
# own Mann-Whitney U test instead.
case "$distro" in
  debian:12)
    packages=("${common[@]}" libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
              nginx-light chromium) ;;
  # Debian 13 has Boost 1.83 (its default) and 1.88; 1.83 is the one Ubuntu 24.04 has too.
  # nginx-light is only a transitional package there. Ubuntu's chromium is a snap, which
  # neither a container nor a chroot runs: the report's layout test is skipped there.
  debian:13)
    packages=("${common[@]}" libboost1.83-dev libboost-json1.83-dev libboost-url1.83-dev nginx
              chromium) ;;
  ubuntu:24.04)
    packages=("${common[@]}" libboost1.83-dev libboost-json1.83-dev libboost-url1.83-dev nginx) ;;
  ubuntu:22.04)
    echo "install-deps: Ubuntu 22.04 packages Boost 1.74 only; iobench needs Boost >= 1.81" \
      "(Asio's as_tuple and awaitable operators, Boost.URL). Install Boost >= 1.81 yourself" \
      "(its headers are enough), then: apt-get install ${common[*]} nginx" >&2
    exit 1 ;;
  *)
    echo "install-deps: $pretty is not supported (known: Debian 12 and 13, Ubuntu 24.04). iobench" \
      "needs a C++20 compiler (g++ >= 12), CMake >= 3.25, Boost >= 1.81 (headers; URL and JSON" \
      "are built from them if their libraries are missing), libcurl, OpenSSL 3, liburing, Google" \
      "Benchmark, GoogleTest, Python 3 with matplotlib, numpy, pytest, aiohttp, yaml, pyflakes and" \
      "pycodestyle; wrk, nginx, ccache, clang (scripts/fuzz.sh) and debootstrap" \
      "(scripts/fresh-root.sh) are optional." >&2
    exit 1 ;;
esac

if [[ $print_only -eq 1 ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present ($pretty)"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx's postinst starts a system nginx on port 80 where an init system runs; iobench starts its
# own nginx on an ephemeral port and needs nothing from that one.
echo "install-deps: done"
