#!/usr/bin/env bash
# Create .venv (Python 3.11) with keras-muxnet and every extra, ready for the demo and the tests.
# torch comes first and pinned: the machine has its CPU wheel; an unpinned torch pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
