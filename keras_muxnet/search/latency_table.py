"""A latency lookup table of the search space: each block configuration timed once, networks summed.

The FBNet/ChamNet approach: a candidate's latency is predicted from its parts (stem, every
block, head), each looked up in a table keyed by the part's configuration and input shape. A
missing entry is measured lazily, the first time a candidate needs it: the part alone is built
as a one-part Keras model, converted through the same export rewrite as whole networks
(`export.tflite.convert`; int8 parts keep int8 inputs and outputs, as inside a network) and timed
with the LiteRT interpreter (XNNPACK). The table is JSON with the machine, runtime versions,
thread count, quantization and timing statistic recorded; a table made under other conditions is
refused rather than mixed with new measurements.

The model, stated (each term measured on the machine, nothing fitted to whole networks):

* every part timed alone also pays one interpreter invocation's fixed cost (entering the
  interpreter and the XNNPACK runtime), which a whole network pays once. The table times that
  cost on an empty model (one ReLU on 1x1x8, entry `invoke`);
* a part timed alone runs again and again with its weights in the core's L2 cache; in a network
  whose weights exceed the L2 cache, each part's weights come from further away on every run.
  The table measures that extra cost per byte with two chains of 1x1 convolutions on a 1x1
  input (pure weight streaming), one that fits in L2 and one four times larger, and adds it for
  the weights of every part of such a network (parts larger than L2 already paid it alone).
  A part's weight bytes are its TFLite file's size;
* a channel-multiplexed block ends in a channel shuffle that the export folds into the layers
  reading it (`export.channel_order`), so its part is timed without that shuffle.

    latency = sum(parts) - (len(parts) - 1) * invoke
              + [weights > L2] * stream_ms_per_byte * (bytes of the parts that fit in L2)

`keras-muxnet search latency-check` compares this prediction with measured whole networks and
reports how far it holds.

Timing on a shared machine: other processes only ever add time, and on this 2-core machine
shared by several jobs the speed also drifts for seconds at a time (by up to 50%). So an entry is
the least of several windows spread over time (`measure_interleaved_ms`: the parts a candidate
lacks are timed in turn, round after round), each window's figure the 10% quantile of its
single runs: the least disturbed runs, what the part costs on an idle machine. Whole networks in
the check are timed the same way.
"""

import dataclasses
import json
import os
import platform
from importlib import metadata
from typing import Callable

import numpy as np

from keras_muxnet._files import write_json
from keras_muxnet.architectures import decode_block, encode_block

FORMAT = 2
TIMING = "min over rounds of q10 of single LiteRT invocations"
INVOKE_KEY = "invoke"
QUANTIZE = (None, "int8")
PROBE_WIDTH = 256  # channels of the weight-streaming probes' 1x1 convolutions


def l2_cache_bytes():
    """This machine's per-core L2 cache size in bytes (None if the system does not say)."""
    import glob

    for folder in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(os.path.join(folder, "level")) as level, open(os.path.join(folder, "size")) as size:
                if level.read().strip() == "2":
                    text = size.read().strip().upper()
                    scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1], 1)
                    return int(text.rstrip("KM")) * scale
        except (OSError, ValueError):
            continue
    return None


def signature(threads=1, quantize=None):
    """What a measurement here depends on: CPU, runtime versions, threads, quantization, statistic."""
    from keras_muxnet.latency import machine

    def version(package):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {"machine": machine(), "architecture": platform.machine(),
            "litert": version("ai-edge-litert"), "tensorflow": version("tensorflow"),
            "threads": int(threads), "quantize": quantize, "timing": TIMING,
            "l2_bytes": l2_cache_bytes()}


def measure_ms(run, min_runs=20, min_seconds=0.05, max_runs=5000, quantile=0.1, warmup=5):
    """The `quantile` of single-run times (ms) of `run()`, over at least `min_runs` runs and
    `min_seconds` (at most `max_runs`): on a shared machine, the least disturbed runs."""
    import time

    for _ in range(warmup):
        run()
    samples, spent = [], 0.0
    while len(samples) < max_runs and (len(samples) < min_runs or spent < min_seconds):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
        spent += samples[-1]
    return float(np.quantile(samples, quantile) * 1e3)


def measure_interleaved_ms(runners, rounds=5, min_runs=20, min_seconds=0.05):
    """{name: least `measure_ms` window over `rounds`}, the runners visited in turn each round,
    so that each one's windows fall at different moments of a drifting machine."""
    best = {name: float("inf") for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            best[name] = min(best[name], measure_ms(run, min_runs, min_seconds))
    return best


def _shape_text(input_shape):
    height, width, channels = (int(v) for v in input_shape)
    return f"{height}x{width}x{channels}"


def block_key(input_shape, block):
    """'HxWxC|<block string>' for a block (a BlockArgs or its string) on an input shape."""
    args = decode_block(block) if isinstance(block, str) else block
    return f"{_shape_text(input_shape)}|{encode_block(args)}"


def stem_key(input_shape, stem_filters):
    return f"{_shape_text(input_shape)}|stem_c{int(stem_filters)}"


def head_key(input_shape, head_filters, classes):
    return f"{_shape_text(input_shape)}|head_c{int(head_filters)}_n{int(classes)}"


def _block_model(input_shape, args):
    from keras_muxnet import blocks
    from keras_muxnet._keras import keras

    inputs = keras.layers.Input(shape=tuple(input_shape))
    model = keras.Model(inputs, blocks.build_block(inputs, args, "block_", 0.0))
    if args.block_type == "mux":  # its closing shuffle folds into the next layers in a network
        model = keras.Model(inputs, model.get_layer("block_concat").output)
    return model


def _stem_model(input_shape, stem_filters):
    from keras_muxnet import blocks, imagenet
    from keras_muxnet._keras import keras

    inputs = keras.layers.Input(shape=tuple(input_shape))
    x = imagenet.normalization_layer(input_shape[-1])(inputs)
    return keras.Model(inputs, blocks.conv_bn(x, stem_filters, "stem_", "swish", kernel_size=3, strides=2))


def _head_model(input_shape, head_filters, classes):
    from keras_muxnet import blocks
    from keras_muxnet._keras import keras

    inputs = keras.layers.Input(shape=tuple(input_shape))
    x = blocks.conv_bn(inputs, head_filters, "top_", "swish")
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(classes, activation="softmax", kernel_initializer=blocks.DENSE_INITIALIZER)(x)
    return keras.Model(inputs, x)


def _invoke_model():
    from keras_muxnet._keras import keras

    inputs = keras.layers.Input(shape=(1, 1, 8))
    return keras.Model(inputs, keras.layers.ReLU()(inputs))


def _probe_model(layers):
    from keras_muxnet._keras import keras

    inputs = keras.layers.Input(shape=(1, 1, PROBE_WIDTH))
    x = inputs
    for _ in range(layers):
        x = keras.layers.Conv2D(PROBE_WIDTH, 1, use_bias=False)(x)
    return keras.Model(inputs, x)


@dataclasses.dataclass(frozen=True)
class Part:
    """One entry of the table: its key and how to build it as a one-part Keras model."""

    key: str
    build: Callable


def network_parts(spec, input_size, classes=1000, channels=3):
    """The parts of `MUXNet(spec)` at input_size x input_size, in network order, on the shapes
    the network gives them: stem, every block (repeats expanded), head."""
    size = int(input_size)
    shape = (size, size, int(channels))
    parts = [Part(stem_key(shape, spec.stem_filters),
                  lambda shape=shape: _stem_model(shape, spec.stem_filters))]
    size = -(-size // 2)  # the stem's stride 2 ("same" padding)
    shape = (size, size, spec.stem_filters)
    for _, args, _ in spec.blocks():
        parts.append(Part(block_key(shape, args), lambda shape=shape, args=args: _block_model(shape, args)))
        size = -(-size // args.strides)
        shape = (size, size, args.filters)
    parts.append(Part(head_key(shape, spec.head_filters, classes),
                      lambda shape=shape: _head_model(shape, spec.head_filters, classes)))
    return parts


def invoke_part():
    """The empty model whose time is one invocation's fixed cost."""
    return Part(INVOKE_KEY, _invoke_model)


def probe_parts(l2_bytes, quantize=None):
    """The two weight-streaming probes for an L2 cache of `l2_bytes`: a quarter of it, four times it."""
    per_layer = PROBE_WIDTH * PROBE_WIDTH * (1 if quantize == "int8" else 4)
    small = max(1, round(l2_bytes * 0.25 / per_layer))
    layers = (small, max(16 * small, round(l2_bytes * 4 / per_layer)))
    return [Part(f"probe|1x1x{PROBE_WIDTH}|conv1x1_x{n}", lambda n=n: _probe_model(n)) for n in layers]


_CHILD_RUN = """import sys
from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_path=sys.argv[1], num_threads=int(sys.argv[2]))
interpreter.allocate_tensors()
interpreter.invoke()
"""


def check_prepares(flatbuffer, threads=1):
    """Raise RuntimeError unless LiteRT prepares and runs the file in a child process: some int8
    files with random weights make LiteRT 2.3 abort the whole process in allocate_tensors
    (tests/muxnet_tiny.py), which no exception handler here could catch."""
    import subprocess
    import sys
    import tempfile
    from importlib.util import find_spec

    if find_spec("ai_edge_litert") is None:  # TensorFlow's interpreter: not known to abort
        return
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "part.tflite")
        with open(path, "wb") as stream:
            stream.write(flatbuffer)
        result = subprocess.run([sys.executable, "-c", _CHILD_RUN, path, str(threads)],
                                capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"LiteRT failed on the file in a child process (exit code "
                           f"{result.returncode}): {result.stderr.strip()[-300:]}")


def part_runner(model, quantize, threads=1):
    """A part converted through the export rewrite and ready to time (`.flatbuffer` its bytes);
    int8 parts take and give int8 tensors, as inside a network, and are tried in a child process
    first (`check_prepares`)."""
    from keras_muxnet.latency import TFLiteRunner

    return TFLiteRunner(model, quantize, threads, batch=1, rewrite=True, int8_io=quantize == "int8",
                        check_file=check_prepares if quantize == "int8" else None)


def built_runner(build, quantize, threads=1, attempts=3):
    """(`part_runner` of `build()`, the model), built again (new random weights) when LiteRT
    cannot prepare the file: some int8 files with random weights fail in XNNPACK's prepare step
    (LiteRT 2.3, see tests/muxnet_tiny.py); their latency does not depend on the weights' values."""
    for attempt in range(1, attempts + 1):
        model = build()
        try:
            return part_runner(model, quantize, threads), model
        except RuntimeError as error:
            if attempt == attempts:
                raise ValueError(f"LiteRT could not prepare {model.name} ({quantize or 'float32'}) "
                                 f"in {attempts} tries with new random weights: {error}") from None


class LatencyTable:
    """Per-part TFLite latencies (ms) and weight bytes for one machine and runtime, in a JSON file.

    Args:
      path: the JSON file (read if it exists; written after every new measurement).
      threads, quantize: interpreter threads and quantization mode (None: float32, or "int8").
      offline: never measure; a missing entry is an error (for a table made elsewhere, e.g.
        on a phone).
      rounds, min_runs, min_seconds: timing effort per entry (see `measure_interleaved_ms`).
      conditions: the signature of the device the table is for, instead of this machine's (a
        table made on a phone, see `search.device_table`); such a table is always offline.
    """

    def __init__(self, path, threads=1, quantize=None, offline=False, rounds=5, min_runs=20,
                 min_seconds=0.05, conditions=None):
        if quantize not in QUANTIZE:
            raise ValueError(f"the latency table times float (None) or int8 models, not {quantize!r}")
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.path, self.offline = os.fspath(path), bool(offline) or conditions is not None
        self.rounds, self.min_runs, self.min_seconds = int(rounds), int(min_runs), float(min_seconds)
        self.signature = dict(conditions) if conditions is not None else signature(threads, quantize)
        self.entries = {}  # key: {"ms": latency, "bytes": TFLite file size}
        self.measured = 0  # entries measured by this instance
        if os.path.exists(self.path):
            self._load()

    @classmethod
    def recorded(cls, path):
        """An existing table under the conditions it records, offline (e.g. one made on a phone)."""
        return cls(path, conditions=read_signature(path))

    @property
    def quantize(self):
        return self.signature["quantize"]

    def _load(self):
        saved = _read(self.path)
        theirs = saved["signature"]
        differ = {k: (theirs.get(k), v) for k, v in self.signature.items() if theirs.get(k) != v}
        if differ:
            details = "; ".join(f"{k}: table {a!r}, here {b!r}" for k, (a, b) in differ.items())
            raise ValueError(f"latency table {self.path} was measured under other conditions ({details}); "
                             f"its figures do not carry over and are not mixed with new ones: use "
                             f"another path for this machine/runtime")
        self.entries = {k: {"ms": float(v["ms"]), "bytes": int(v["bytes"])} for k, v in saved["entries"].items()}

    def save(self):
        write_json(self.path, {"format": FORMAT, "signature": self.signature,
                               "entries": dict(sorted(self.entries.items()))}, indent=1)

    def record(self, key, ms, size):
        """Store a measurement made elsewhere (e.g. read from a phone's results); not saved yet."""
        ms = float(ms)
        if not np.isfinite(ms) or ms <= 0:
            raise ValueError(f"latency of {key!r} must be a positive number of ms, got {ms}")
        self.entries[key] = {"ms": ms, "bytes": int(size)}

    def fill(self, parts):
        """Measure the parts the table lacks (together, interleaved) and save; returns their entries."""
        missing = list({part.key: part for part in parts if part.key not in self.entries}.values())
        if missing and self.offline:
            raise KeyError(f"the latency table {self.path} has no entry {missing[0].key!r} and is "
                           f"offline (it cannot measure here); measure it where the table was made")
        if missing:
            runners = {p.key: built_runner(p.build, self.quantize, self.signature["threads"])[0]
                       for p in missing}
            times = measure_interleaved_ms(runners, self.rounds, self.min_runs, self.min_seconds)
            for key, runner in runners.items():
                self.record(key, round(times[key], 6), len(runner.flatbuffer))
            self.measured += len(missing)
            self.save()
        return [self.entries[part.key] for part in parts]

    def entry(self, part):
        """The part's {"ms", "bytes"}, measured now and saved if the table lacks it."""
        return self.fill([part])[0]

    def lookup(self, part):
        """The part's latency (ms), measured now and saved if the table lacks it."""
        return self.entry(part)["ms"]

    # --- the parts ----------------------------------------------------------------------------
    def block_ms(self, input_shape, block):
        args = decode_block(block) if isinstance(block, str) else block
        return self.lookup(Part(block_key(input_shape, args), lambda: _block_model(input_shape, args)))

    def invoke_ms(self):
        """One invocation's fixed cost (ms), which every part's entry includes once."""
        return self.lookup(invoke_part())

    def stream_ms_per_byte(self):
        """Extra time per weight byte fetched from beyond L2 (0 when the L2 size is unknown)."""
        l2 = self.signature.get("l2_bytes")
        if not l2:
            return 0.0
        invoke = self.invoke_ms()
        (small, large) = [self.entry(p) for p in probe_parts(l2, self.quantize)]
        per_byte = [(e["ms"] - invoke) / e["bytes"] for e in (small, large)]
        return max(0.0, per_byte[1] - per_byte[0])

    def predict(self, spec, input_size, classes=1000, channels=3):
        """Predicted latency (ms) of `MUXNet(spec)` at input_size (the model in the module's doc).

        Returns (total, parts) with parts a list of (key, ms) in network order.
        """
        parts = network_parts(spec, input_size, classes, channels)
        l2 = self.signature.get("l2_bytes")
        extra = [invoke_part(), *(probe_parts(l2, self.quantize) if l2 else [])]
        entries = list(zip([p.key for p in parts], self.fill(parts + extra)))
        total = sum(e["ms"] for _, e in entries) - (len(entries) - 1) * self.invoke_ms()
        if l2 and sum(e["bytes"] for _, e in entries) > l2:
            total += self.stream_ms_per_byte() * sum(e["bytes"] for _, e in entries if e["bytes"] <= l2)
        return total, [(key, e["ms"]) for key, e in entries]


def _read(path):
    with open(path) as stream:
        try:
            saved = json.load(stream)
        except json.JSONDecodeError as error:
            raise ValueError(f"latency table {path} is not valid JSON ({error})") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or "entries" not in saved \
            or not isinstance(saved.get("signature"), dict):
        raise ValueError(f"{path} is not a latency table of format {FORMAT}")
    return saved


def read_signature(path):
    """The conditions a saved table was measured under."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no latency table at {path}")
    return _read(path)["signature"]
