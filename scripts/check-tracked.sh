#!/usr/bin/env bash
# Fails when a tracked file is a compiled executable (ELF, Mach-O, PE, wasm)
# or is over 1 MB, unless scripts/fixtures.txt lists its path (one a line;
# lines starting with # are comments). Build outputs belong in .gitignore.
set -euo pipefail
cd "$(dirname "$0")/.."
allowed=$(grep -v '^#' scripts/fixtures.txt 2>/dev/null || true)
bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  if grep -qxF -- "$f" <<<"$allowed"; then continue; fi
  size=$(stat -c %s -- "$f")
  if [ "$size" -gt 1048576 ]; then
    echo "tracked file over 1 MB: $f ($size bytes); list it in scripts/fixtures.txt if it is a fixture"
    bad=1
    continue
  fi
  case "$(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n')" in
  7f454c46 | cffaedfe | cefaedfe | feedfacf | feedface | cafebabe | 0061736d | 4d5a*)
    echo "tracked executable binary: $f; build outputs belong in .gitignore (or list a fixture in scripts/fixtures.txt)"
    bad=1
    ;;
  esac
done < <(git ls-files -z)
exit $bad
