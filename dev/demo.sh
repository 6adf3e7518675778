#!/usr/bin/env bash
# The README's main job on a fresh machine: set up .venv, then run `keras-muxnet demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh
exec .venv/bin/keras-muxnet demo "$@"
