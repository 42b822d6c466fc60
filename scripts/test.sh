#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the C++ suites through CTest and the
# Python ones through pytest (Debian's interpreter, which has the project's Python packages).
#   scripts/test.sh            release build in build/
#   scripts/test.sh --asan     ASan+UBSan build in build/asan/
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
case "${1:-}" in
  "") ;;
  --asan) preset=asan ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"

bin_dir=build/bin
[[ $preset == asan ]] && bin_dir=build/asan/bin
sanitized=0
[[ $preset == asan ]] && sanitized=1
IOBENCH_BIN="$PWD/$bin_dir" IOBENCH_SANITIZED=$sanitized /usr/bin/python3 -m pytest -q tests/python
echo "test.sh: all tests passed ($preset)"
