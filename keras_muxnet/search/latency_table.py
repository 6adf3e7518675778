"""A latency lookup table of the search space: each block configuration timed once, networks summed.

The FBNet/ChamNet approach: a candidate's latency is predicted as the sum of its blocks' plus
the stem's and head's, each looked up in a table keyed by the block's configuration and input
shape. A missing entry is measured lazily, the first time a candidate needs it: the block alone
is built as a one-block Keras model, converted through the same export rewrite as whole networks
(`export.tflite.convert`) and timed with the LiteRT interpreter (`latency.time_interleaved`).
The table is JSON with the machine, runtime versions, thread count and quantization recorded;
a table made under other conditions is refused rather than mixed with new measurements.

Each entry includes one interpreter invocation's fixed cost, so the sum over-counts it once per
block; the whole-network check (`keras-muxnet search latency-check`, issue 12) is what tells how
far prediction and measurement agree.
"""

import json
import os
import platform
import statistics
from importlib import metadata

from keras_muxnet._files import write_json
from keras_muxnet.architectures import decode_block, encode_block

FORMAT = 1


def signature(threads=1, quantize=None):
    """What a measurement depends on: CPU, architecture, runtime versions, threads, quantization."""
    from keras_muxnet.latency import machine

    def version(package):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {"machine": machine(), "architecture": platform.machine(),
            "litert": version("ai-edge-litert"), "tensorflow": version("tensorflow"),
            "threads": int(threads), "quantize": quantize}


def block_key(input_shape, block):
    """'HxWxC|<block string>' for a block (a BlockArgs or its string) on an input shape."""
    args = decode_block(block) if isinstance(block, str) else block
    height, width, channels = (int(v) for v in input_shape)
    return f"{height}x{width}x{channels}|{encode_block(args)}"


def stem_key(input_shape, stem_filters):
    height, width, channels = (int(v) for v in input_shape)
    return f"{height}x{width}x{channels}|stem_c{int(stem_filters)}"


def head_key(input_shape, head_filters, classes):
    height, width, channels = (int(v) for v in input_shape)
    return f"{height}x{width}x{channels}|head_c{int(head_filters)}_n{int(classes)}"


def _block_model(input_shape, args):
    from keras_muxnet import blocks
    from keras_muxnet._keras import keras

    inputs = keras.layers.Input(shape=tuple(input_shape))
    return keras.Model(inputs, blocks.build_block(inputs, args, "block_", 0.0))


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


class LatencyTable:
    """Per-part TFLite latencies (ms) for one machine and runtime, stored in a JSON file.

    Args:
      path: the JSON file (read if it exists; written after every new measurement).
      threads, quantize: interpreter threads and quantization mode (None or "int8").
      offline: never measure; a missing entry is an error (for a table made elsewhere, e.g.
        on a phone).
      rounds, runs_per_round: timing effort per entry (the median over rounds is stored).
    """

    def __init__(self, path, threads=1, quantize=None, offline=False, rounds=7, runs_per_round=20):
        if quantize not in (None, "int8"):
            raise ValueError(f"the latency table times float (None) or int8 models, not {quantize!r}")
        self.path, self.offline = path, bool(offline)
        self.rounds, self.runs_per_round = int(rounds), int(runs_per_round)
        self.signature = signature(threads, quantize)
        self.entries = {}
        self.measured = 0  # entries measured by this instance
        if os.path.exists(path):
            self._load()

    def _load(self):
        with open(self.path) as stream:
            try:
                saved = json.load(stream)
            except json.JSONDecodeError as error:
                raise ValueError(f"latency table {self.path} is not valid JSON ({error})") from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT or "entries" not in saved:
            raise ValueError(f"{self.path} is not a latency table of format {FORMAT}")
        theirs = saved.get("signature", {})
        differ = {k: (theirs.get(k), v) for k, v in self.signature.items() if theirs.get(k) != v}
        if differ:
            details = "; ".join(f"{k}: table {a!r}, here {b!r}" for k, (a, b) in differ.items())
            raise ValueError(f"latency table {self.path} was measured under other conditions ({details}); "
                             f"its figures do not carry over and are not mixed with new ones: use "
                             f"another path for this machine/runtime")
        self.entries = {k: float(v) for k, v in saved["entries"].items()}

    def save(self):
        write_json(self.path, {"format": FORMAT, "signature": self.signature,
                               "entries": dict(sorted(self.entries.items()))}, indent=1)

    def _lookup(self, key, build):
        if key in self.entries:
            return self.entries[key]
        if self.offline:
            raise KeyError(f"the latency table {self.path} has no entry {key!r} and is offline "
                           f"(it cannot measure here); measure it where the table was made")
        self.entries[key] = self._time(build())
        self.measured += 1
        self.save()
        return self.entries[key]

    def _time(self, model):
        import numpy as np

        from keras_muxnet.latency import TFLiteRunner, time_interleaved

        runner = TFLiteRunner(model, self.signature["quantize"], self.signature["threads"], batch=1,
                               rewrite=True)
        samples = time_interleaved({"part": runner}, rounds=self.rounds, runs_per_round=self.runs_per_round)
        return float(np.round(statistics.median(samples["part"]), 6))

    # --- the parts ----------------------------------------------------------------------------
    def block_ms(self, input_shape, block):
        args = decode_block(block) if isinstance(block, str) else block
        return self._lookup(block_key(input_shape, args), lambda: _block_model(input_shape, args))

    def stem_ms(self, input_shape, stem_filters):
        return self._lookup(stem_key(input_shape, stem_filters), lambda: _stem_model(input_shape, stem_filters))

    def head_ms(self, input_shape, head_filters, classes):
        return self._lookup(head_key(input_shape, head_filters, classes),
                            lambda: _head_model(input_shape, head_filters, classes))

    def predict(self, spec, input_size, classes=1000, channels=3):
        """Predicted latency (ms) of `MUXNet(spec)` at input_size: stem + every block + head.

        Returns (total, parts) with parts a list of (key, ms) in network order.
        """
        size = int(input_size)
        shape = (size, size, int(channels))
        parts = [(stem_key(shape, spec.stem_filters), self.stem_ms(shape, spec.stem_filters))]
        size = -(-size // 2)  # the stem's stride 2 ("same" padding)
        shape = (size, size, spec.stem_filters)
        for _, args, _ in spec.blocks():
            parts.append((block_key(shape, args), self.block_ms(shape, args)))
            size = -(-size // args.strides)
            shape = (size, size, args.filters)
        parts.append((head_key(shape, spec.head_filters, classes), self.head_ms(shape, spec.head_filters, classes)))
        return sum(ms for _, ms in parts), parts
