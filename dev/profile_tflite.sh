#!/usr/bin/env bash
# Where a .tflite model's time goes, by XNNPACK microkernel: sample the LiteRT interpreter with
# Linux perf (Debian package linux-perf; software cpu-clock events work in VMs without counters).
#   bash dev/profile_tflite.sh model.tflite [invocations]
# Prints the share of samples per function (igemm = generic convolution, dwconv_*p = depthwise
# kernels of up to that many taps, vmul/vsigmoid/vadd = elementwise, memmove = copies).
set -euo pipefail
model=${1:?usage: profile_tflite.sh model.tflite [invocations]}
runs=${2:-300}
python=${PYTHON:-$(dirname "$0")/../.venv/bin/python}
data=$(mktemp)
trap 'rm -f "$data"' EXIT
perf record -q -F 5000 -e cpu-clock -o "$data" -- "$python" - "$model" "$runs" <<'PY'
import sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter  # not TensorFlow: its import would dominate
interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
interpreter.allocate_tensors()
detail = interpreter.get_input_details()[0]
x = np.random.default_rng(0).uniform(0, 255, detail["shape"])
info = np.iinfo(detail["dtype"]) if np.issubdtype(detail["dtype"], np.integer) else None
interpreter.set_tensor(detail["index"], (np.clip(x - 128, info.min, info.max) if info else x)
                       .astype(detail["dtype"]))
interpreter.invoke()
start = time.perf_counter()
for _ in range(int(sys.argv[2])):
    interpreter.invoke()
print(f"{(time.perf_counter() - start) * 1e3 / int(sys.argv[2]):.2f} ms per run", file=sys.stderr)
PY
perf report -i "$data" --no-children --sort symbol 2>/dev/null \
    | awk '/%/ && !/^#/ {printf "%7s  %s\n", $1, $3}' | head -20
