#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with a clear message.
# Looks at: $VIBE_QUANT_PYTHON, python3.13/python3.12/python3 on PATH, pyenv's versions, /usr/bin.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
cands=()
[ -n "${VIBE_QUANT_PYTHON:-}" ] && cands+=("$VIBE_QUANT_PYTHON")
for n in python3.12 python3.13 python3; do
  p=$(command -v "$n" 2>/dev/null) && cands+=("$p")
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for v in "$root"/versions/3.12*/bin/python3 "$root"/versions/3.13*/bin/python3; do
  [ -x "$v" ] && cands+=("$v")
done
cands+=(/usr/bin/python3.12 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/local/bin/python3.13)
for c in "${cands[@]}"; do
  # a pyenv shim may resolve to an older version: ask the interpreter itself
  if [ -x "$c" ] && ok "$c"; then
    PYENV_VERSION= "$c" -c 'import sys; print(sys.executable)' 2>/dev/null && exit 0
  fi
done
echo "error: vibe-quant needs Python >= 3.12 and none was found (tried: ${cands[*]})." >&2
echo "Install one (e.g. 'pyenv install 3.12') or set VIBE_QUANT_PYTHON=/path/to/python3.12." >&2
exit 1
