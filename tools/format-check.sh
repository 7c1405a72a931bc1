#!/usr/bin/env bash
# Checks that kvm-rr's C++ sources follow .clang-format; the CTest test style.clang_format
# runs it. With --fix (make format) it reformats them in place instead.
#
#   tools/format-check.sh [--fix]
#
# The sources: *.cc and *.h under kvm-rr/, replayer/, passes/ and tools/kvm-rr/ that git
# knows of (tracked, or new and not ignored). Not kvm-rr/abi/: C headers copied into QEMU
# and the guest kernel, in their style. Not guest/: C programs. CLANG_FORMAT names another
# binary; the style is checked with Debian 12's clang-format 14 (tools/deps.sh installs it),
# whose output other versions may not match line for line.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
case "${1:-}" in
  --fix) fix=1 ;;
  "") ;;
  *) echo "usage: tools/format-check.sh [--fix]" >&2; exit 2 ;;
esac

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
  for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null 2>&1; then cf=$c; break; fi
  done
fi
if [ -z "$cf" ] || ! command -v "$cf" >/dev/null 2>&1; then
  echo "format-check: FAILED: clang-format is not installed, so the C++ style cannot be checked." >&2
  echo "format-check: install it with 'make deps' (tools/deps.sh) or 'apt-get install clang-format'." >&2
  exit 1
fi

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "format-check: FAILED: $(pwd) is not a git work tree (the file list comes from git ls-files)." >&2
  exit 1
fi
files=()
while IFS= read -r f; do
  case "$f" in kvm-rr/abi/*) continue ;; esac
  [ -f "$f" ] && files+=("$f")
done < <(git ls-files --cached --others --exclude-standard -- \
  'kvm-rr/*.cc' 'kvm-rr/*.h' 'replayer/*.cc' 'replayer/*.h' \
  'passes/*.cc' 'passes/*.h' 'tools/kvm-rr/*.cc' 'tools/kvm-rr/*.h' | sort -u)
if [ ${#files[@]} -eq 0 ]; then
  echo "format-check: FAILED: no C++ sources found (git ls-files listed none)." >&2
  exit 1
fi

if [ $fix = 1 ]; then
  "$cf" -i --style=file "${files[@]}"
  echo "format: ${#files[@]} files formatted with $("$cf" --version | sed 's/^[^0-9]*//')"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  "$cf" --dry-run -Werror --style=file "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "format-check: FAILED: ${#bad[@]} of ${#files[@]} C++ files are not formatted as .clang-format says:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "format-check: how ${bad[0]} would change (first lines):" >&2
  "$cf" --style=file "${bad[0]}" 2>&1 | diff -u "${bad[0]}" - | head -n 30 >&2 || true
  echo "format-check: fix with 'make format' (tools/format-check.sh --fix), then review and commit." >&2
  exit 1
fi
echo "format-check: ${#files[@]} C++ files formatted ($("$cf" --version | sed 's/^[^0-9]*//'))"
