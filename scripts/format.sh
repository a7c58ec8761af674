#!/usr/bin/env bash
# clang-format (style: .clang-format at the root) over every tracked C++ file.
#   bash scripts/format.sh           rewrites the files in place
#   bash scripts/format.sh --check   changes nothing; lists unformatted files, exits 1 if any
# Extra arguments after the mode restrict it to those files.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=fix
if [ "${1:-}" = --check ]; then mode=check; shift; fi
command -v clang-format >/dev/null || bash scripts/install-deps.sh
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.hpp' '*.cc')
fi
[ ${#files[@]} -eq 0 ] && exit 0
if [ "$mode" = fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
# One clang-format run over all files (one process per file is slow on a loaded machine); its
# diagnostics start with "<file>:<line>:<col>: error:".
if ! out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
  echo "not clang-formatted (run bash scripts/format.sh):" >&2
  grep -oE '^[^:]+:[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | sort -u | sed 's/^/  /' >&2
  exit 1
fi
echo "format: ${#files[@]} files clean"
