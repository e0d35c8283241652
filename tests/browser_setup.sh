#!/usr/bin/env bash
# Set up the real-browser test of the widget notebooks (tests/browser_test.py):
# Debian's chromium from apt (playwright's own browser download is not reachable here) and the Python playwright package.
# Usage: bash tests/browser_setup.sh   (PYTHON=... to choose the interpreter; default .venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi; fi

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"   # browser_test.py reads the same variable
if [ ! -x "$CHROMIUM" ]; then
  SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "browser_setup: installing chromium with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
"$CHROMIUM" --version 2>/dev/null

if ! "$PY" -c "import playwright" 2>/dev/null; then
  echo "browser_setup: installing playwright with pip"
  "$PY" -m pip install -q "playwright>=1.40"
fi
"$PY" -c "import importlib.metadata as m; print('playwright', m.version('playwright'))"
