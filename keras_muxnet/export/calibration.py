"""Full-integer TFLite calibrated on the float model's true activation ranges.

The converter calibrates every activation on the representative data (its minimum and maximum)
and gives it the step (max - min) / 255. TFLite's calibrator (TF 2.21) logs a tensor's values
after the operators reading it have run, and the interpreter lets some operators (ADD, MUL,
CONCATENATION, ...) write their output into an input's buffer: that input is then logged with
the output's values. Measured on a digits-trained MUXNet-xs: a mixed-kernel conv's
concatenation calibrated to [-8.8, 8.2] where its values span [-1.5, 1.5] (the BatchNorm
behind it wrote there), every block's projection to its residual sum's range (up to twice its
own), 28 tensors in all; each gets a step several times too coarse, the error grows through the
network, and the int8 file agreed with the float model on 64.7% of held-out digits.

`convert_int8(converter)` runs a converter set up by `tflite.configure_quantization` with
calibration only, measures every calibrated tensor's range itself (the interpreter keeping all
tensors, so no buffer is shared), writes those ranges into the calibrated flatbuffer and
quantizes it with the MLIR quantizer the converter calls itself. Nothing else changes: with the
calibrator's ranges kept the result runs identically to `converter.convert()`.
`export.int8_drift` shows the effect layer by layer. `narrow_saturated=True` also clips the
inputs of sigmoid gates to where int8 LOGISTIC still changes its output (`export.saturation`);
`average_ranges=True` averages each sample's min and max instead of taking the extremes over
all samples (the detector export's default; classifiers keep the extremes).
"""

import numpy as np
import tensorflow as tf

from keras_muxnet.export import saturation


def _model_object(flatbuffer):
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))


def _calibrated_tensors(model):
    """{(subgraph, tensor index): tensor} of the tensors holding one calibrated (min, max) and
    no scale yet (a quantization-aware model's fake-quantized tensors have theirs: kept)."""
    found = {}
    for s, subgraph in enumerate(model.subgraphs):
        for index, tensor in enumerate(subgraph.tensors):
            quantization = tensor.quantization
            if (quantization is not None and quantization.min is not None
                    and len(quantization.min) == 1 and quantization.max is not None
                    and (quantization.scale is None or len(quantization.scale) == 0)):
                found[(s, index)] = tensor
    return found


def observed_ranges(calibrated, samples, average=False):
    """{tensor index: (min, max)} of the main subgraph's tensors over `samples` (each a list of
    input arrays, as a representative dataset yields them), run by the float `calibrated`
    model with every intermediate tensor kept. average=True: each tensor's per-sample minimum
    and maximum averaged over the samples (widened to hold 0, as int8 must) instead of the
    extremes of them all: TF's "average min/max" calibration, which a few outlying samples
    cannot stretch."""
    from keras_muxnet.export.runtime import make_interpreter

    interpreter = make_interpreter(calibrated, preserve_all_tensors=True)
    inputs = interpreter.get_input_details()
    tensors = [t["index"] for t in interpreter.get_tensor_details() if t["dtype"] == np.float32]
    low, high, seen, count = {}, {}, {}, 0
    for sample in samples:
        for detail, value in zip(inputs, sample, strict=True):
            interpreter.set_tensor(detail["index"], np.asarray(value, detail["dtype"]))
        interpreter.invoke()
        count += 1
        for index in tensors:
            try:
                value = interpreter.get_tensor(index)
            except ValueError:  # a tensor with no data (e.g. an unused optional one)
                continue
            if value.size:
                if average:
                    low[index] = low.get(index, 0.0) + float(value.min())
                    high[index] = high.get(index, 0.0) + float(value.max())
                    seen[index] = seen.get(index, 0) + 1
                else:
                    low[index] = min(low.get(index, np.inf), float(value.min()))
                    high[index] = max(high.get(index, -np.inf), float(value.max()))
    if not count:
        raise ValueError("representative data is empty")
    if average:
        return {index: (min(low[index] / seen[index], 0.0), max(high[index] / seen[index], 0.0))
                for index in low}
    return {index: (low[index], high[index]) for index in low}


def with_ranges(calibrated, ranges):
    """(flatbuffer, number of tensors changed): `calibrated` with the calibrated (min, max) of
    the main subgraph's tensors in `ranges` ({tensor index: (min, max)}) replaced."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = _model_object(calibrated)
    changed = 0
    for (subgraph, index), tensor in _calibrated_tensors(model).items():
        if subgraph != 0 or index not in ranges:
            continue
        low, high = ranges[index]
        if (float(tensor.quantization.min[0]), float(tensor.quantization.max[0])) != (low, high):
            tensor.quantization.min = np.array([low], np.float32)
            tensor.quantization.max = np.array([high], np.float32)
            changed += 1
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), changed


def _samples(converter):
    data = converter.representative_dataset
    generate = getattr(data, "input_gen", data)  # the converter wraps it on use
    return generate()


def convert_int8(converter, int8_io=False, narrow_saturated=False, average_ranges=False):
    """Full-integer conversion of a converter set up for "int8" (see the module docstring;
    `average_ranges`: `observed_ranges(..., average=True)`)."""
    from tensorflow.lite.python.convert import mlir_quantize

    converter._experimental_calibrate_only = True  # TFLite's own switch for this two-step use
    calibrated = converter.convert()
    ranges = observed_ranges(calibrated, _samples(converter), average=average_ranges)
    if narrow_saturated:
        ranges, _ = saturation.narrowed(_model_object(calibrated), ranges)
    fixed, _ = with_ranges(calibrated, ranges)
    io_type = tf.int8 if int8_io else tf.float32
    return mlir_quantize(fixed, input_data_type=io_type, output_data_type=io_type)
