#!/usr/bin/env bash
# Installs the Debian 12 packages iobench needs, only those that are missing. Idempotent: when
# everything is present it prints one line and changes nothing. Works on a bare bookworm with apt.
set -euo pipefail

# Build toolchain, libraries, Python side (Debian's interpreter at /usr/bin/python3) and the
# reference tools (wrk, nginx) the benchmarks compare against.
packages=(
  g++ make cmake git curl ca-certificates pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcurl4-openssl-dev libbenchmark-dev libgtest-dev googletest
  python3 python3-matplotlib python3-numpy python3-pytest python3-aiohttp python3-yaml
  python3-pyflakes python3-pycodestyle ccache
  wrk nginx-light time procps
)
# python3-scipy is deliberately absent: its Debian package depends on python3-pythran, which depends
# on libboost-dev (1.74), and that conflicts with libboost1.81-dev. scripts/compare.py carries its
# own Mann-Whitney U test instead.

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
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
# nginx-light's postinst starts a system nginx on port 80 where an init system runs; iobench
# starts its own nginx on an ephemeral port and needs nothing from that one.
echo "install-deps: done"
