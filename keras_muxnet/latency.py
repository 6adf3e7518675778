"""Latency of MUXNets beside keras.applications peers, measured side by side in one process.

Every model is converted (or compiled) first; then timing rounds visit the models in turn
(interleaved), so a slow phase of a shared, noisy machine hits every model alike. Each round
times a short burst of runs and keeps its mean; the median over rounds is the figure, the
quartiles its spread, and `ratio_vs` is a model's median over the reference model's median.
"""

import dataclasses
import os
import statistics
import time

import numpy as np

from keras_muxnet._files import write_json
from keras_muxnet._keras import BACKEND, LEGACY_KERAS, keras
from keras_muxnet.quantization_modes import check_quantize, to_cli

PEERS = ("MobileNetV3Large", "MobileNetV3Small", "MobileNetV2", "EfficientNetB0")
RUNTIMES = ("tflite", "keras")
MODES = ("predict", "train")  # keras runtime: predict_on_batch or train_on_batch
JIT_COMPILE = {"auto": "auto", "on": True, "off": False}
PEER_SIZE = 224


@dataclasses.dataclass
class Record:
    """One model's measurement; `asdict` gives the JSON record."""

    model: str
    runtime: str
    quantize: str
    threads: int
    batch: int
    latency_ms_median: float
    latency_ms_q1: float
    latency_ms_q3: float
    params: int
    madds: int
    ratio_vs: float = float("nan")
    vs: str = ""
    rewrite: bool = True
    mode: str = "predict"
    size: int = PEER_SIZE
    jit_compile: str = "auto"
    backend: str = BACKEND  # the keras runtime's array library (tensorflow, jax, torch)


def build_model(name, size=PEER_SIZE):
    """A MUXNet variant ('muxnet_m', 'm'), an ablation of one ('muxnet_m+relu+no-se', see
    `keras_muxnet.ablations`) or a keras.applications peer; random weights, size x size."""
    from keras_muxnet import ablations, architectures
    from keras_muxnet.models import MUXNet

    if name in PEERS:
        return getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3))
    try:
        spec = ablations.resolve(name)
    except ValueError:
        raise ValueError(f"unknown model {name!r}: give a MUXNet variant "
                         f"({', '.join(architectures.SPECS)}), optionally with ablations "
                         f"(muxnet_m+relu; {', '.join(ablations.ABLATIONS)}), or one of "
                         f"{PEERS}") from None
    return MUXNet(spec, weights=None, input_shape=(size, size, 3))


class TFLiteRunner:
    """One model converted to TFLite (through the export rewrite when `rewrite`) and ready to
    run: calling it times one inference (the search's latency table uses it too, with int8_io
    for parts of a network, whose int8 tensors flow on without (de)quantizing)."""

    def __init__(self, model, quantize, threads, batch, rewrite, seed=0, int8_io=False,
                 check_file=None):
        from keras_muxnet.export import tflite

        shape = tuple(model.inputs[0].shape[1:])
        rng = np.random.default_rng(seed)
        representative = None
        if quantize == "int8":  # random calibration: fine for timing, not for accuracy
            representative = rng.uniform(0, 255, (8,) + shape).astype(np.float32)
        flatbuffer = tflite.convert(model, quantize, representative, int8_io=int8_io, rewrite=rewrite)
        if check_file is not None:  # e.g. try the file where a crash cannot take this process down
            check_file(flatbuffer, threads)
        self._load(flatbuffer, threads, rng.uniform(0, 255, (batch,) + shape).astype(np.float32))

    @classmethod
    def from_flatbuffer(cls, flatbuffer, inputs, threads=1):
        """A runner of a file converted already, on the fixed batch `inputs` (float)."""
        runner = cls.__new__(cls)
        runner._load(flatbuffer, threads, np.asarray(inputs, np.float32))
        return runner

    def _load(self, flatbuffer, threads, inputs):
        from keras_muxnet.export import runtime

        self.flatbuffer = flatbuffer
        self.runner = runtime.TFLiteModel(flatbuffer, num_threads=threads)
        self.runner(inputs)

    def __call__(self):
        self.runner.invoke()


def _backend_tensor(array):
    if LEGACY_KERAS:
        import tensorflow as tf

        return tf.convert_to_tensor(array)
    return keras.ops.convert_to_tensor(array)


class _KerasRunner:
    """One `predict_on_batch` or `train_on_batch` (SGD, cross-entropy) of a compiled model:
    what a Keras user runs, Keras' own step function included."""

    def __init__(self, model, quantize, threads, batch, rewrite, seed=0, mode="predict",
                 jit_compile="auto"):
        if quantize is not None:
            raise ValueError("the keras runtime measures float models only; use the tflite "
                             "runtime for quantized ones")
        if rewrite and mode == "predict":
            from keras_muxnet.export.rewrite import for_inference

            model, _ = for_inference(model)
        shape = tuple(model.inputs[0].shape[1:])
        rng = np.random.default_rng(seed)
        # tensors of the backend, made once: no conversion inside the timed step
        self.x = _backend_tensor(rng.uniform(0, 255, (batch,) + shape).astype("float32"))
        classes = int(model.outputs[0].shape[-1])
        self.y = _backend_tensor(rng.integers(0, classes, batch))
        model.compile(optimizer=keras.optimizers.SGD(1e-4),
                      loss=keras.losses.SparseCategoricalCrossentropy(),
                      jit_compile=JIT_COMPILE[jit_compile])
        self.model, self.mode = model, mode
        self()

    def __call__(self):
        if self.mode == "train":
            self.model.train_on_batch(self.x, self.y)
        else:
            self.model.predict_on_batch(self.x)


def time_interleaved(runners, rounds=15, runs_per_round=10, warmup=5):
    """{name: [mean ms of one run, per round]}, the runners visited in turn every round."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    samples = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            for _ in range(runs_per_round):
                run()
            samples[name].append((time.perf_counter() - start) * 1e3 / runs_per_round)
    return samples


def benchmark(models, vs="MobileNetV3Large", runtime="tflite", quantize=None, threads=1,
              batch=1, rounds=15, runs_per_round=10, rewrite=None, log=print, mode="predict",
              size=PEER_SIZE, jit_compile="auto"):
    """Measure `models` and `vs` side by side; returns a list of Record (the `vs` model last).

    Models are names (MUXNet variants or PEERS, built with random weights at size x size) or
    Keras models. `rewrite` applies the export-time rewrite (a no-op for models without grouped
    convolutions, such as the peers; never in training); by default it does for TFLite, where it
    is what the export does, and not for the keras runtime, which times the network as built
    (its fast form) as users run it. The keras runtime times `mode`
    ('predict' or 'train' steps), compiled with `jit_compile` ('auto', 'on', 'off').
    """
    from keras_muxnet import profiler

    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {RUNTIMES}")
    check_quantize(quantize)
    if threads < 1 or batch < 1:
        raise ValueError("threads and batch must be at least 1")
    if mode not in MODES or jit_compile not in JIT_COMPILE:
        raise ValueError(f"unknown mode {mode!r} or jit_compile {jit_compile!r}; choose from "
                         f"{MODES} and {tuple(JIT_COMPILE)}")
    if runtime == "tflite" and (mode != "predict" or jit_compile != "auto"):
        raise ValueError("--mode train and --jit-compile need --runtime keras")
    rewrite = (runtime == "tflite" if rewrite is None else rewrite) and mode == "predict"
    built = {}
    for item in [*models, *([vs] if vs is not None else [])]:
        model = build_model(item, size) if isinstance(item, str) else item
        built.setdefault(item if isinstance(item, str) else model.name, model)
    names = list(built)
    vs = (vs if isinstance(vs, str) else vs.name) if vs is not None else None
    runners, profiles = {}, {}
    for name, model in built.items():
        profiles[name] = profiler.profile(model)
        log(f"preparing {name} ({runtime}, {to_cli(quantize)}, {mode})")
        if runtime == "tflite":
            runners[name] = TFLiteRunner(model, quantize, threads, batch, rewrite)
        else:
            runners[name] = _KerasRunner(model, quantize, threads, batch, rewrite, mode=mode,
                                         jit_compile=jit_compile)
    samples = time_interleaved(runners, rounds, runs_per_round)
    records = []
    for name in names:
        q1, median, q3 = statistics.quantiles(samples[name], n=4, method="inclusive")
        records.append(Record(model=name, runtime=runtime, quantize=to_cli(quantize), threads=threads,
                              batch=batch, latency_ms_median=median, latency_ms_q1=q1,
                              latency_ms_q3=q3, params=profiles[name].params,
                              madds=profiles[name].madds, vs=vs or "", rewrite=rewrite,
                              mode=mode, size=int(built[name].inputs[0].shape[1]),
                              jit_compile=jit_compile))
    if vs:
        reference = records[names.index(vs)].latency_ms_median
        for record in records:
            record.ratio_vs = record.latency_ms_median / reference
    return records


def format_table(records):
    width = max([18] + [len(r.model) for r in records])
    lines = [f"{'model':{width}s} {'runtime':16s} {'quant':5s} {'median ms':>9s} {'q1-q3 ms':>13s} "
             f"{'params':>11s} {'MAdds':>13s} {'ratio':>6s}"]
    for r in records:
        runtime = f"keras/{r.backend}" if r.runtime == "keras" else r.runtime
        lines.append(f"{r.model:{width}s} {runtime:16s} {r.quantize:5s} {r.latency_ms_median:9.2f} "
                     f"{r.latency_ms_q1:6.2f}-{r.latency_ms_q3:<6.2f} {r.params:>11,d} "
                     f"{r.madds:>13,d} {r.ratio_vs:6.2f}")
    return "\n".join(lines)


def write_records(records, path):
    """The records as a JSON list (all or nothing); returns the path."""
    return write_json(path, [dataclasses.asdict(r) for r in records])


def machine():
    """A short description of the CPU this ran on, for the README table."""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"
