#!/usr/bin/env bash
# Create or update .venv from requirements.lock (the source of truth), install studykit
# in editable mode and register the `studykit` Jupyter kernel.
#
# Idempotent and fast: a stamp file holds the hash of everything the install depends on
# (requirements.lock, pyproject.toml, the Python version); when it matches, nothing runs.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
STAMP="$VENV/.studykit-installed"

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for cand in python3.11 python3 python3.12 python3.13; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$cand"; return
    fi
  done
  echo "python3"
}

if [ -x "$VENV/bin/python" ]; then
  PY="$VENV/bin/python"
else
  PY=$(pick_python)
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed (found: $("$PY" --version 2>&1 || echo none)); set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
pyver=$("$PY" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')
want=$( (cat requirements.lock pyproject.toml; echo "python $pyver") | sha256sum | cut -d' ' -f1)

kernel_ok() {
  [ -f "$VENV/share/jupyter/kernels/studykit/kernel.json" ] \
    && grep -q "$(cd "$VENV" && pwd)/bin/python" "$VENV/share/jupyter/kernels/studykit/kernel.json"
}

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && kernel_ok; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $PY ($pyver)"
  "$PY" -m venv "$VENV"
fi
echo "setup: installing the pinned dependencies from requirements.lock (first time: a few minutes)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)" >/dev/null

# packages in .venv that the lock does not name (installed by hand): say so, do not remove them
extra=$("$VENV/bin/python" -m pip freeze --all --exclude-editable --disable-pip-version-check 2>/dev/null \
  | grep -v -E '^(pip|studykit)==' | sort | comm -23 - <(grep -v '^#' requirements.lock | grep . | sort) || true)
if [ -n "$extra" ]; then
  echo "setup: note: .venv holds packages or versions not in requirements.lock:" $extra
fi
echo "$want" > "$STAMP"
echo "setup: .venv is ready (kernel 'studykit' registered)"
