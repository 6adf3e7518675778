#!/usr/bin/env bash
# The README's test command on a fresh machine: set up .venv, then run the suite in both Keras
# modes: everything under Keras 3, then the layer/model tests (and tfmot's) under tf_keras, then the
# layer/model tests under Keras 3 on JAX and on PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
export JAX_TEST_XLA_FLAGS="--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
TF_USE_LEGACY_KERAS=1 .venv/bin/python -m pytest -n 2 --dist loadfile -m "both_modes or tf_keras_only" "$@"
# Keras 3 on JAX and on PyTorch: the layer and model tests. JAX gets two CPU devices (for
# keras.distribution) and XLA's quick compile (each weight shape's initializer is a compile: ~4x
# faster builds, slower runs; tests build much more than they run).
KERAS_BACKEND=jax XLA_FLAGS="$JAX_TEST_XLA_FLAGS --xla_force_host_platform_device_count=2" \
    .venv/bin/python -m pytest -n 2 --dist loadfile -m all_backends "$@"
KERAS_BACKEND=torch .venv/bin/python -m pytest -n 2 --dist loadfile -m all_backends "$@"
