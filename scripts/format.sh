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
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'not clang-formatted (run bash scripts/format.sh): %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files clean"
