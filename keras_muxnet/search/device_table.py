"""A latency table measured on another device (a phone): part files out, benchmark results in.

`export_parts` writes every part the given networks need (stem, blocks, head and the empty
`invoke` model, see `search.latency_table`) as `.tflite` files, through the same export rewrite as
whole networks, with a manifest and `run_benchmarks.sh`, a POSIX shell script that times each
file with TFLite's `benchmark_model` tool on the device (XNNPACK, the chosen thread count) and
appends its output to one results file. `read_results` parses that file ("Inference (avg)" of
each part, in microseconds) into a latency table recording the device's name, the runtime the
user states and the thread count; searches then use it offline (`LatencyTable.recorded`).

On an Android phone (adb), with TFLite's benchmark_model binary for the phone at hand::

    export_parts("parts", specs, 224, "Pixel 7", "benchmark_model 2.16", l2_bytes=512 << 10)
    adb push parts /data/local/tmp/parts && adb push benchmark_model /data/local/tmp/
    adb shell 'cd /data/local/tmp/parts && BENCHMARK_MODEL=../benchmark_model sh run_benchmarks.sh'
    adb pull /data/local/tmp/parts/results.txt parts/
    read_results("parts", "pixel7_fp32.json")  # then: keras-muxnet search --latency-table pixel7_fp32.json
"""

import json
import os
import re

from keras_muxnet._files import write_bytes, write_json, write_text
from keras_muxnet.search.latency_table import (FORMAT, QUANTIZE, LatencyTable, invoke_part,
                                               network_parts, built_runner, probe_parts)

MANIFEST = "manifest.json"
SCRIPT = "run_benchmarks.sh"
RESULTS = "results.txt"
TIMING = "benchmark_model Inference (avg)"
_HEADER = re.compile(r"^=== (\S+\.tflite)\s*$")
_AVERAGE = re.compile(r"Inference \(avg\):\s*([0-9.eE+-]+)")

_SCRIPT = """#!/bin/sh
# Times every part of a keras-muxnet latency table with TFLite's benchmark_model ({count} files).
# Run it on the device, in this folder: BENCHMARK_MODEL=/path/to/benchmark_model sh {script}
# Then read {results} back with keras_muxnet.search.device_table.read_results.
set -e
BENCHMARK_MODEL=${{BENCHMARK_MODEL:-./benchmark_model}}
OUT=${{1:-{results}}}
: > "$OUT.partial"
for f in {files}; do
  echo "=== $f" >> "$OUT.partial"
  "$BENCHMARK_MODEL" --graph="$f" --num_threads={threads} --use_xnnpack=true \\
      --warmup_runs=20 --num_runs={runs} >> "$OUT.partial" 2>&1
done
mv "$OUT.partial" "$OUT"
echo "wrote $OUT"
"""


def device_signature(device, runtime, threads=1, quantize=None, l2_bytes=None):
    """The conditions of a table made on `device` with `runtime` (e.g. 'benchmark_model 2.16');
    `l2_bytes`, the device's per-core L2 cache, enables the weight-streaming term."""
    if not str(device).strip() or not str(runtime).strip():
        raise ValueError("name the device and the runtime version the parts are timed with")
    if quantize not in QUANTIZE:
        raise ValueError(f"the latency table times float (None) or int8 models, not {quantize!r}")
    return {"machine": str(device), "architecture": "device", "litert": str(runtime),
            "tensorflow": None, "threads": int(threads), "quantize": quantize, "timing": TIMING,
            "l2_bytes": int(l2_bytes) if l2_bytes else None}


def export_parts(folder, specs, input_size, device, runtime, classes=1000, channels=3, threads=1,
                 quantize=None, runs=100, l2_bytes=None):
    """Write the part files of `specs` (MUXNetSpecs) at input_size, the manifest and the script.

    Parts shared by several networks are written once. Returns the manifest dict.
    """
    if not os.path.isdir(folder):
        raise ValueError(f"{folder} is not a folder; create it first")
    conditions = device_signature(device, runtime, threads, quantize, l2_bytes)
    probes = probe_parts(l2_bytes, quantize) if l2_bytes else []
    parts = {part.key: part for part in [invoke_part(), *probes]}
    for spec in specs:
        for part in network_parts(spec, input_size, classes, channels):
            parts.setdefault(part.key, part)
    files = {}
    for index, (key, part) in enumerate(parts.items()):
        name = f"part_{index:04d}.tflite"
        runner, _ = built_runner(part.build, quantize, threads)
        write_bytes(os.path.join(folder, name), runner.flatbuffer)
        files[name] = key
    manifest = {"format": FORMAT, "signature": conditions, "files": files}
    write_json(os.path.join(folder, MANIFEST), manifest, indent=1)
    script = _SCRIPT.format(count=len(files), script=SCRIPT, results=RESULTS, files=" ".join(files),
                            threads=int(threads), runs=int(runs))
    write_text(os.path.join(folder, SCRIPT), script)
    return manifest


def parse_results(text):
    """{file name: average inference ms} from the script's results (benchmark_model outputs)."""
    averages, current = {}, None
    for line in text.splitlines():
        header = _HEADER.match(line.strip())
        if header:
            current = os.path.basename(header.group(1))
            continue
        average = _AVERAGE.search(line)
        if average and current is not None:
            averages[current] = float(average.group(1)) / 1e3  # microseconds
            current = None
    return averages


def read_results(folder, table_path, results=None):
    """Fill the latency table at `table_path` from the device's results; returns the table.

    An existing table there must be for the same device, runtime, threads and quantization.
    Every part of the manifest must have a result: a missing or failed one is named.
    """
    manifest_path = os.path.join(folder, MANIFEST)
    if not os.path.exists(manifest_path):
        raise FileNotFoundError(f"no {MANIFEST} in {folder}: export the parts there first")
    with open(manifest_path) as stream:
        manifest = json.load(stream)
    results = results or os.path.join(folder, RESULTS)
    if not os.path.exists(results):
        raise FileNotFoundError(f"no benchmark results at {results}: run {SCRIPT} on the device "
                                f"and copy its {RESULTS} here")
    with open(results) as stream:
        averages = parse_results(stream.read())
    missing = sorted(set(manifest["files"]) - set(averages))
    if missing:
        raise ValueError(f"{results} has no 'Inference (avg)' for {len(missing)} part file(s): "
                         f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} "
                         f"(did benchmark_model fail on them?)")
    table = LatencyTable(table_path, conditions=manifest["signature"])
    for name, key in manifest["files"].items():
        table.record(key, averages[name], os.path.getsize(os.path.join(folder, name)))
    table.save()
    return table
