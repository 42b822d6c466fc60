#!/usr/bin/env bash
# Prints the commit the regression gate measures against (scripts/ab.sh BASE_REF):
#   - in a GitHub pull request (GITHUB_BASE_REF set): the merge base with the target branch;
#   - otherwise the baseline commit named in reports/baseline/commit (set by
#     scripts/update-baseline.sh when a change moves the numbers on purpose).
# Exit 2 when neither can be found.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "gate-base.sh: takes no arguments (see --help)" >&2; exit 2 ;;
esac

if [[ -n ${GITHUB_BASE_REF:-} ]]; then
  target="origin/$GITHUB_BASE_REF"
  git rev-parse --verify --quiet "$target^{commit}" >/dev/null ||
    { echo "gate-base.sh: $target is not fetched (actions/checkout with fetch-depth: 0)" >&2; exit 2; }
  git merge-base "$target" HEAD
  exit 0
fi

file=reports/baseline/commit
[[ -f $file ]] || { echo "gate-base.sh: $file is missing (scripts/update-baseline.sh writes it)" >&2; exit 2; }
sha=$(grep -v '^[[:space:]]*#' "$file" | tr -d '[:space:]')
[[ $sha =~ ^[0-9a-f]{7,40}$ ]] || { echo "gate-base.sh: $file holds no commit sha" >&2; exit 2; }
git rev-parse --verify --quiet "$sha^{commit}" ||
  { echo "gate-base.sh: baseline commit $sha is not in this clone (a shallow clone? git fetch --unshallow)" >&2; exit 2; }
