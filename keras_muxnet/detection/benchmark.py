"""Latency of exported SSDLite detectors side by side (TFLite, interleaved), fp32 and int8.

The detectors (random weights, `num_classes` + background, `size` x `size`) are exported with
`detection.export` (post-processing included) and timed with `keras_muxnet.latency`'s
interleaved rounds: every (detector, quantization) pair is visited in turn each round, so a
noisy phase of a shared machine hits all alike. `ratio_vs` divides by the `vs` detector at the
same quantization. Random int8 calibration is fine for timing, not for accuracy.

Two parts of each detector are timed:
- "detector": the whole exported file. With random weights every anchor scores about
  1 / (classes + 1), above the 0.01 score threshold, so the post-processing runs class-wise NMS
  over every anchor of every class: its worst case, the same ~45 ms at 300x300 for any
  backbone (half the file's time), where a trained detector on a real image passes a few
  hundred candidates. That constant dilutes the ratio towards 1.
- "network" (`NETWORK_SUFFIX` after the name): backbone, extra layers and heads, exported the
  way classifiers are, without the post-processing: the part the backbone decides.
"""

import statistics

import numpy as np

from keras_muxnet import latency, profiler
from keras_muxnet.detection import export
from keras_muxnet.detection.model import SSDLite
from keras_muxnet.quantization_modes import check_quantize, to_cli

PREFIX = "ssdlite_"
QUANTIZE = (None, "int8")
PARTS = ("detector", "network")
NETWORK_SUFFIX = "/network"


def build_detector(name, size=300, num_classes=20):
    """'ssdlite_muxnet_m' / 'ssdlite_mobilenet_v2' -> an SSDLite with random weights."""
    if not str(name).startswith(PREFIX):
        raise ValueError(f"detector names start with {PREFIX!r} (e.g. ssdlite_muxnet_m, "
                         f"ssdlite_mobilenet_v2), got {name!r}")
    return SSDLite(name[len(PREFIX):], num_classes=num_classes, input_size=size)


class _DetectorRunner:
    """The whole exported file, post-processing included, on one random image."""

    def __init__(self, detector, quantize, threads, seed=0):
        size = detector.input_size
        rng = np.random.default_rng(seed)
        representative = rng.uniform(0, 255, (8, size, size, 3)).astype(np.float32) \
            if quantize == "int8" else None
        flatbuffer = export.convert(detector, quantize, representative)
        self.detector = export.TFLiteDetector(flatbuffer, num_threads=threads)
        self.image = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
        self.detector._invoke(self.image)

    def __call__(self):
        self.detector._invoke(self.image)


def _runner(detector, quantize, threads, part):
    if part == "network":
        return latency.TFLiteRunner(detector, quantize, threads, batch=1, rewrite=True)
    return _DetectorRunner(detector, quantize, threads)


def benchmark(models=("ssdlite_muxnet_m",), vs="ssdlite_mobilenet_v2", quantize=QUANTIZE,
              threads=1, size=300, num_classes=20, rounds=15, runs_per_round=5, log=print,
              parts=PARTS):
    """latency.Record list, one per (detector, quantization, part), the `vs` detector last.

    Detectors are names (`build_detector`) or SSDLite models (named by `.name`); `parts` is a
    subset of PARTS (see the module docstring); a "network" record's model name ends in
    NETWORK_SUFFIX and its ratio is to the `vs` detector's network.
    """
    for q in quantize:
        check_quantize(q, QUANTIZE)
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {tuple(parts)}")
    detectors = {}
    for item in [*models, *([vs] if vs is not None else [])]:
        detector = build_detector(item, size, num_classes) if isinstance(item, str) else item
        detectors.setdefault(item if isinstance(item, str) else detector.name, detector)
    vs = (vs if isinstance(vs, str) else vs.name) if vs is not None else None
    runners, profiles = {}, {}
    for name, detector in detectors.items():
        profiles[name] = profiler.profile(detector)
        for q in quantize:
            for part in parts:
                log(f"exporting {name} ({to_cli(q)}, {part})")
                label = name + (NETWORK_SUFFIX if part == "network" else "")
                runners[(label, q)] = _runner(detector, q, threads, part)
    samples = latency.time_interleaved(runners, rounds, runs_per_round)
    records = []
    for (label, q), times in samples.items():
        name = label.removesuffix(NETWORK_SUFFIX)
        q1, median, q3 = statistics.quantiles(times, n=4, method="inclusive")
        records.append(latency.Record(
            model=label, runtime="tflite", quantize=to_cli(q), threads=threads, batch=1,
            latency_ms_median=median, latency_ms_q1=q1, latency_ms_q3=q3,
            params=profiles[name].params, madds=profiles[name].madds, vs=vs or ""))
    if vs:
        reference = {(r.model, r.quantize): r.latency_ms_median for r in records}
        for record in records:
            part_of_vs = vs + (NETWORK_SUFFIX if record.model.endswith(NETWORK_SUFFIX) else "")
            record.ratio_vs = record.latency_ms_median / reference[(part_of_vs, record.quantize)]
    return records
