"""How good and how fast a QAT int8 file is beside the PTQ int8 file of the same float model.

One run, on the digits (or any arrays): train the float model briefly, export its PTQ int8
file (post-training quantization, calibrated on training images), fine-tune a
quantization-aware copy (`quantize_aware`), export its int8 file, then measure on held-out images
  * latency of both int8 files, interleaved (LiteRT, 1 thread), and QAT / PTQ;
  * how far the QAT int8 file is from its QAT Keras model: per image the largest |probability
    difference| over the classes, its median and maximum over the images, top-1 agreement;
  * the same for the QAT model against itself on the held-out images plus noise of a hundredth
    of an int8 input step (`self_noise`): how far a quantized model moves by itself when a few
    roundings flip, the floor under the line above;
  * top-1 agreement of each int8 file with the float model, and every model's accuracy;
  * `export.xnnpack_slow_ops` and the operator counts of both files.
Only tf_keras (TF_USE_LEGACY_KERAS=1), as tfmot.
"""

import dataclasses
import statistics

import numpy as np

from keras_muxnet._keras import keras
from keras_muxnet.export import ops, runtime, tflite
from keras_muxnet.export.agreement import run_batched
from keras_muxnet.optimize._tfmot import tfmot
from keras_muxnet.optimize.quantization import quantize_aware


@dataclasses.dataclass
class QATCheck:
    """The figures of one run; `dataclasses.asdict` gives the JSON record."""

    model: str
    size: int
    epochs: int
    qat_epochs: int
    held_out: int
    calibration: int
    logit_range: object           # (low, high) of the QAT model's logits, or None: calibrated
    latency_ms: dict              # {"qat_int8": median ms, "ptq_int8": median ms}
    qat_over_ptq_latency: float
    qat_int8_vs_qat_model: dict   # max / median of the per-image max |prob diff|, top1_agreement
    qat_model_vs_itself_noisy: dict  # the same for the QAT model on inputs + `self_noise` noise
    ptq_int8_vs_float_model: dict  # the same for the PTQ file against its float model
    top1_agreement_with_float: dict  # {"qat_int8": share, "ptq_int8": share}
    accuracy: dict                # float, qat_model, qat_int8, ptq_int8 on the held-out labels
    xnnpack_slow_ops: dict        # {"qat_int8": [...], "ptq_int8": [...]}
    op_counts: dict               # {"qat_int8": {op: n}, "ptq_int8": {op: n}}


def softmax(logits):
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


# Issue 13's bound on how far a QAT int8 file may be from its QAT model, in probability
FOLLOW_TOLERANCE = 0.02


def follows(probabilities, reference):
    """{max, median of the per-image largest |difference|, the share of images above
    FOLLOW_TOLERANCE, top1_agreement} of two outputs."""
    drift = np.abs(probabilities - reference).max(-1)
    return {"max_prob_diff": float(drift.max()), "median_prob_diff": float(np.median(drift)),
            "share_over_tolerance": float(np.mean(drift > FOLLOW_TOLERANCE)),
            "top1_agreement": float(np.mean(probabilities.argmax(-1) == reference.argmax(-1)))}


# Noise added to the inputs by `self_noise`, in int8 input steps ((max - min) / 255 of the images)
NOISE_STEPS = 0.01


def self_noise(model, x, reference, steps=NOISE_STEPS, seed=0):
    """`follows` of `model`'s probabilities (from logits) on `x` plus Gaussian noise of `steps`
    int8 input steps against `reference`, its probabilities on `x`.

    Such noise moves an int8 input pixel only where it sits next to a rounding boundary (about
    one pixel in a hundred, by one step), as a rounding that the int8 kernels do otherwise than
    the fake quantization does. Measured (`optimize qat-check --model muxnet_xs`): it moved the
    QAT model's probabilities by up to 0.52, 23.3% of the held-out digits by more than 0.02,
    where its int8 file is 0.38 and 23.3% from it: one-step flips cascade through a quantized
    network, and the int8 file cannot follow its QAT model closer than the model follows itself.
    """
    x = np.asarray(x, np.float32)
    step = (float(x.max()) - float(x.min())) / 255
    noisy = x + np.random.default_rng(seed).normal(0, steps * step, x.shape).astype(np.float32)
    return follows(softmax(model.predict(noisy, verbose=0)), reference)


def fit_logits(model, x, y, epochs, learning_rate, batch_size):
    """`model` (logits out) fitted on (x, y) with Adam, as the check trains both its models."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)


def check(model, train, held_out, epochs=4, qat_epochs=1, calibration=100, batch_size=32,
          learning_rate=3e-3, qat_learning_rate=1e-4, rounds=15, runs_per_round=10,
          logit_range=None, log=print):
    """Train `model` (logits out) on `train` = (x, y), quantize it both ways, measure on
    `held_out` = (x, y); returns a QATCheck. Images as the model takes them (e.g. RGB 0-255).
    The QAT model's ranges start from the calibration images (`quantize_aware`), its logits'
    at `logit_range` if given."""
    from keras_muxnet.latency import TFLiteRunner, time_interleaved

    tfmot()  # a clear KerasModeError under Keras 3, before any training
    (x, y), (x_val, y_val) = train, held_out
    if epochs < 0 or qat_epochs < 1 or not 0 < calibration <= len(x):
        raise ValueError(f"need epochs >= 0, qat_epochs >= 1 and 0 < calibration <= {len(x)} "
                         f"training images; got {epochs}, {qat_epochs}, {calibration}")
    if epochs:
        log(f"training {model.name} for {epochs} epoch(s) on {len(x)} images")
        fit_logits(model, x, y, epochs, learning_rate, batch_size)
    representative = x[:calibration]
    ptq = tflite.convert(model, "int8", representative, int8_io=True)
    log(f"quantization-aware training for {qat_epochs} epoch(s)")
    qat = quantize_aware(model, representative, logit_range=logit_range)
    fit_logits(qat, x, y, qat_epochs, qat_learning_rate, batch_size)
    qat_file = tflite.convert(qat, "int8", representative, int8_io=True)

    float_probs = softmax(model.predict(x_val, verbose=0))
    qat_probs = softmax(qat.predict(x_val, verbose=0))
    files = {"qat_int8": qat_file, "ptq_int8": ptq}
    runners = {name: runtime.TFLiteModel(flatbuffer, num_threads=1)
               for name, flatbuffer in files.items()}
    probs = {name: softmax(run_batched(runner, x_val)) for name, runner in runners.items()}
    log(f"timing both int8 files interleaved ({rounds} rounds, LiteRT, 1 thread)")
    samples = time_interleaved({name: TFLiteRunner.from_flatbuffer(files[name], x_val[:1])
                                for name in files}, rounds, runs_per_round)
    latency = {name: statistics.median(times) for name, times in samples.items()}
    accuracy = {name: float(np.mean(p.argmax(-1) == y_val)) for name, p in
                (("float", float_probs), ("qat_model", qat_probs), *probs.items())}
    return QATCheck(
        model=model.name, size=int(model.inputs[0].shape[1]), epochs=epochs,
        qat_epochs=qat_epochs, held_out=len(x_val), calibration=calibration,
        logit_range=None if logit_range is None else [float(v) for v in logit_range],
        latency_ms=latency, qat_over_ptq_latency=latency["qat_int8"] / latency["ptq_int8"],
        qat_int8_vs_qat_model=follows(probs["qat_int8"], qat_probs),
        qat_model_vs_itself_noisy=self_noise(qat, x_val, qat_probs),
        ptq_int8_vs_float_model=follows(probs["ptq_int8"], float_probs),
        top1_agreement_with_float={name: follows(p, float_probs)["top1_agreement"]
                                   for name, p in probs.items()},
        accuracy=accuracy,
        xnnpack_slow_ops={name: ops.xnnpack_slow_ops(f) for name, f in files.items()},
        op_counts={name: ops.op_counts(f) for name, f in files.items()})


def format_check(result):
    """The figures as a few lines of text."""
    q, p = result.qat_int8_vs_qat_model, result.ptq_int8_vs_float_model
    n = result.qat_model_vs_itself_noisy
    return "\n".join([
        f"{result.model} at {result.size}x{result.size}: {result.epochs} float epoch(s), "
        f"{result.qat_epochs} QAT epoch(s), {result.held_out} held-out images, "
        f"{result.calibration} calibration images",
        f"latency (LiteRT, 1 thread, interleaved medians): QAT int8 "
        f"{result.latency_ms['qat_int8']:.3f} ms, PTQ int8 {result.latency_ms['ptq_int8']:.3f} ms, "
        f"QAT/PTQ {result.qat_over_ptq_latency:.3f}",
        f"QAT int8 vs its QAT model: max |prob diff| {q['max_prob_diff']:.4f}, median "
        f"{q['median_prob_diff']:.4f}, over {FOLLOW_TOLERANCE} on "
        f"{q['share_over_tolerance']:.1%} of the images, top-1 agreement "
        f"{q['top1_agreement']:.1%}",
        f"QAT model vs itself on inputs + {NOISE_STEPS} int8 step of noise: max |prob diff| "
        f"{n['max_prob_diff']:.4f}, median {n['median_prob_diff']:.4f}, over {FOLLOW_TOLERANCE} "
        f"on {n['share_over_tolerance']:.1%} of the images",
        f"PTQ int8 vs its float model: max |prob diff| {p['max_prob_diff']:.4f}, median "
        f"{p['median_prob_diff']:.4f}, over {FOLLOW_TOLERANCE} on "
        f"{p['share_over_tolerance']:.1%} of the images, top-1 agreement "
        f"{p['top1_agreement']:.1%}",
        "top-1 agreement with the float model: " + ", ".join(
            f"{k} {v:.1%}" for k, v in result.top1_agreement_with_float.items()),
        "held-out accuracy: " + ", ".join(f"{k} {v:.1%}" for k, v in result.accuracy.items()),
        "XNNPACK-slow ops: " + ", ".join(
            f"{k} {v or 'none'}" for k, v in result.xnnpack_slow_ops.items()),
    ])
