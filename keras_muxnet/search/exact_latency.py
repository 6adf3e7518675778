"""The exact mode of the latency objective: each candidate exported and timed whole.

A drop-in for `latency_table.LatencyTable` where `MUXNetHyperModel` asks for a candidate's
latency (`predict(spec, input_size, classes, channels)`): instead of summing per-part entries,
the candidate is built, converted through the same export rewrite and timed with the same
LiteRT settings and statistic (`latency_table.built_runner`, `measure_interleaved_ms`). Slower
per candidate (a whole-network conversion each, ~seconds) but free of the table's model error;
for when the objective's accuracy matters more than search time. Figures are kept in memory
per (spec, input) for the process, and nothing is written.
"""

from keras_muxnet.search.latency_table import (QUANTIZE, built_runner, measure_interleaved_ms,
                                               signature)


class ExactLatency:
    """Whole-network TFLite latency (ms) of candidates, measured when first asked for.

    Args:
      threads, quantize: LiteRT threads and quantization (None: float32, or "int8").
      rounds, min_runs, min_seconds: timing effort (see `measure_interleaved_ms`).
    """

    def __init__(self, threads=1, quantize=None, rounds=5, min_runs=20, min_seconds=0.05):
        if quantize not in QUANTIZE:
            raise ValueError(f"exact latency times float (None) or int8 models, not {quantize!r}")
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.signature = signature(threads, quantize)
        self.rounds, self.min_runs, self.min_seconds = int(rounds), int(min_runs), float(min_seconds)
        self.entries = {}
        self.measured = 0
        self.path = None  # nothing on disk

    @property
    def quantize(self):
        return self.signature["quantize"]

    def predict(self, spec, input_size, classes=1000, channels=3):
        """(latency in ms, [(key, ms)]) of `MUXNet(spec)` at input_size, timed whole."""
        from keras_muxnet.models import MUXNet

        shape = (int(input_size), int(input_size), int(channels))
        key = (f"{shape[0]}x{shape[1]}x{shape[2]}|n{int(classes)}|{spec.blocks_line()}"
               f"|stem{spec.stem_filters}|head{spec.head_filters}")
        if key not in self.entries:
            runner, _ = built_runner(lambda: MUXNet(spec, weights=None, input_shape=shape, classes=classes),
                                     self.quantize, self.signature["threads"])
            self.entries[key] = measure_interleaved_ms({key: runner}, self.rounds, self.min_runs,
                                                       self.min_seconds)[key]
            self.measured += 1
        return self.entries[key], [(key, self.entries[key])]
