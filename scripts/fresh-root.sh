#!/usr/bin/env bash
# Runs commands in a fresh minimal Debian root, as a newcomer would on a new machine: proof that
# the README's commands work on SUITE from nothing but the committed tree and apt.
#   scripts/fresh-root.sh [--refresh] SUITE 'COMMANDS'     e.g. trixie 'scripts/test.sh'
#     SUITE      bookworm (Debian 12) or trixie (Debian 13)
#     COMMANDS   run by bash in the tree's copy (/root/iobench), as root, with a plain environment
#     --refresh  debootstrap the root again instead of using the cached one
# The minimal root (debootstrap --variant=minbase, from the mirror in this machine's apt sources)
# is kept as a tarball in $IOBENCH_ROOT_CACHE (default /var/cache/iobench/roots). Each run unpacks
# a fresh copy under ${TMPDIR:-/var/tmp}, clones HEAD into it as a newcomer's clone is (branch and
# history, which scripts/ab.sh and its tests use; uncommitted changes are left out), mounts /proc,
# /sys and /dev in a mount and PID namespace of its own (so they and every process started there
# end with the run), and removes it all on exit, Ctrl-C or SIGTERM. Needs root and debootstrap
# (scripts/install-deps.sh installs it). Exit: the commands' status; 2 for bad usage or what is
# missing here; 3 if the root cannot be set up.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^[^#]/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
say() { echo "fresh-root: $*"; }
die() { echo "fresh-root: $*" >&2; exit 2; }

refresh=0
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --refresh) refresh=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; args+=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ ${#args[@]} -eq 2 ]] || die "needs SUITE and 'COMMANDS' (see --help)"
suite=${args[0]} commands=${args[1]}
case "$suite" in
  bookworm|trixie) ;;
  *) die "SUITE is bookworm or trixie (got '$suite')" ;;
esac
[[ -n ${commands//[[:space:]]/} ]] || die "COMMANDS is empty"
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot and mounts); use sudo"
command -v debootstrap >/dev/null ||
  die "needs debootstrap (scripts/install-deps.sh installs it; or apt-get install debootstrap)"
git rev-parse --verify --quiet HEAD >/dev/null || die "not a git checkout with a commit to copy"

# The Debian mirror and the security mirror this machine's apt uses (deb822 or one-line sources).
mirror=${IOBENCH_ROOT_MIRROR:-} security=""
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [[ -r $f ]] || continue
  while read -r uri; do
    case "$uri" in
      */debian-security|*/debian-security/) security=${security:-${uri%/}} ;;
      */debian|*/debian/) mirror=${mirror:-${uri%/}} ;;
    esac
  done < <(sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
             -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f")
done
[[ -n $mirror ]] ||
  die "no Debian mirror in /etc/apt/sources* (set IOBENCH_ROOT_MIRROR=http://.../debian)"

cache=${IOBENCH_ROOT_CACHE:-/var/cache/iobench/roots}
arch=$(dpkg --print-architecture)
tarball=$cache/$suite-$arch-minbase.tar.gz
if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
  die "cannot write the cache folder '$cache'"
fi

work="" child="" partial=""
# Ends whatever still runs in the root, then removes every mount and file the run made. Mounts
# live in the child's own mount namespace and end with it; any found here all the same (a child
# that could not be ended) are detached before the folder goes.
# shellcheck disable=SC2317  # reached through the traps
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    kill -KILL "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  [[ -z $partial ]] || rm -f "$partial"
  if [[ -n $work && -d $work ]]; then
    local m
    while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done < <(awk -v w="$work" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$work"
    say "removed $work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM HUP

work=$(mktemp -d "${TMPDIR:-/var/tmp}/iobench-root.XXXXXX")
root=$work/root
mkdir "$root"

# Runs "$@" in a mount and PID namespace of its own, in the background so that a signal reaches
# this script's trap at once; returns its status. The namespace's first process (its init) only
# starts the command and waits: it reaps what is left behind, and ignores signals it has no
# handler for, so the commands themselves never run as PID 1.
in_namespace() {
  unshare --mount --propagation private --pid --fork --kill-child=SIGKILL "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

if [[ $refresh -eq 1 || ! -s $tarball ]]; then
  say "debootstrap --variant=minbase $suite from $mirror (once; cached as $tarball)"
  start=$(date +%s)
  # debootstrap mounts /proc and /sys in the target while it installs: in a namespace of its own
  # those mounts cannot outlive it.
  log=$work/debootstrap.log
  in_namespace debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1 || {
    tail -n 20 "$log" >&2
    echo "fresh-root: debootstrap failed (above: the end of its log)" >&2
    exit 3
  }
  # What a newcomer's machine has beside the minimal root: its own security and updates suites
  # and a hosts file (minbase has none, and the tests resolve localhost).
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\n' "$mirror" "$suite" "$suite"
    printf 'Components: main\nSigned-By: %s\n' "$keyring"
    if [[ -n $security ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\n' "$security" "$suite"
      printf 'Components: main\nSigned-By: %s\n' "$keyring"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  partial=$tarball.$$.tmp  # the tarball is whole or not there
  tar -C "$root" -czf "$partial" . && mv "$partial" "$tarball"
  partial=""
  say "cached $(du -h "$tarball" | cut -f1) in $(( $(date +%s) - start )) s"
  rm -rf --one-file-system "$root" && mkdir "$root"
fi

say "unpacking $tarball into $root"
tar -C "$root" -xzf "$tarball"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"  # apt resolves the mirror's name
src=/root/iobench
sha=$(git rev-parse HEAD)
branch=$(git symbolic-ref --quiet --short HEAD || true)
on=(--detach)
[[ -n $branch ]] && on=(-B "$branch")
git clone --quiet --no-hardlinks --no-checkout "$PWD" "$root$src"
git -C "$root$src" checkout --quiet "${on[@]}" "$sha"
git -C "$root$src" remote remove origin  # a path on this machine, not there
dirty=$(git status --porcelain --untracked-files=no | wc -l)
left_out=""
[[ $dirty -eq 0 ]] || left_out="; $dirty uncommitted changes left out"
say "cloned ${branch:-HEAD} at ${sha:0:12}$left_out"

say "running in $suite: $commands"
printf -v script 'cd %q || exit 1\n%s' "$src" "$commands"  # COMMANDS whole, after the cd
start=$(date +%s)
rc=0
# shellcheck disable=SC2016  # expanded by the bash in the namespace
in_namespace bash -c '
  root=$1; shift
  mount --bind "$root" "$root"  # / a mount point inside, as on a machine (mount --make-rslave /)
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  # Signals at their defaults: started in the background (see in_namespace), this whole tree
  # inherited SIGINT and SIGQUIT ignored, which would make Ctrl-C, and tests of it, do nothing.
  chroot "$root" /usr/bin/env --default-signal -i HOME=/root USER=root LOGNAME=root \
    SHELL=/bin/bash TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
  status=$?  # not the last command, so bash does not exec it in place of this init
  exit "$status"' \
  fresh-root "$root" bash -c "$script" || rc=$?
say "$suite: exit $rc after $(( $(date +%s) - start )) s"
exit "$rc"
