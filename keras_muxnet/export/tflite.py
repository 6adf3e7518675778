"""Convert a Keras model (Keras 3 or tf_keras) to a TFLite / LiteRT flatbuffer, builtin ops only.

Modes: float32 (quantize=None), "float16" weights, "dynamic" range (int8 weights, float
activations) and "int8" full-integer with a representative dataset (optionally int8 input and
output). The model is first rewritten by `export.rewrite.for_inference` (same function, faster
operators); conversion goes through a concrete function, which works the same in both Keras modes.
"""

import re

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras, require_tensorflow
from keras_muxnet._files import check_writable, write_bytes
from keras_muxnet.export import calibration, ops, rewrite as rewrite_lib
from keras_muxnet.quantization_modes import QUANTIZE_MODES, check_quantize as check_mode


def check_quantize(quantize, representative_data, int8_io):
    check_mode(quantize)
    if quantize == "int8" and representative_data is None:
        raise ValueError("quantize='int8' needs representative_data: a few hundred typical "
                         "inputs (array or iterable of arrays) to calibrate activation ranges")
    if quantize != "int8" and (representative_data is not None or int8_io):
        raise ValueError("representative_data and int8_io only apply to quantize='int8'")


def _input_spec(model):
    if len(model.inputs) != 1:
        raise ValueError(f"to_tflite exports single-input models; {model.name} has {len(model.inputs)}")
    shape = tuple(model.inputs[0].shape)
    if None in shape[1:]:
        raise ValueError(f"{model.name} takes inputs of any size {shape[1:]}; build it with a fixed "
                         f"input_shape to export it")
    return tf.TensorSpec((None,) + shape[1:], tf.float32)


def representative_batches(data, model_shape, limit=None):
    """A representative_dataset callable yielding [one example] after checking the shape."""
    expected = tuple(model_shape[1:])

    def checked(array):
        array = np.asarray(array, dtype=np.float32)
        if array.shape == expected:
            array = array[None]
        if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected:
            raise ValueError(f"representative data has shape {array.shape}; the model takes "
                             f"(batch, {', '.join(map(str, expected))})")
        return array

    if isinstance(data, np.ndarray) or (isinstance(data, (list, tuple)) and data
                                        and np.ndim(data[0]) == len(expected)):
        arrays = [checked(data)]
    else:
        arrays = (checked(a) for a in (data() if callable(data) else data))

    def generate():
        count = 0
        for array in arrays:
            for example in array:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield [example[None]]
        if count == 0:
            raise ValueError("representative data is empty")

    return generate


def _concrete_function(model):
    spec = _input_spec(model)
    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return function.get_concrete_function()


def _layer_op_types(layer):
    """TensorFlow op types one layer's call traces to (empty if it cannot be traced alone)."""
    inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    specs = [tf.TensorSpec(t.shape, t.dtype) for t in inputs]
    call = (lambda *xs: layer(list(xs))) if isinstance(layer.input, (list, tuple)) else layer
    try:
        graph = tf.function(call).get_concrete_function(*specs).graph
    except Exception:  # noqa: BLE001 - a layer that cannot be traced alone is not the suspect
        return set()
    return {op.type for op in graph.get_operations()}


def _flex_error(error, model):
    """A ValueError naming the layers whose TensorFlow ops have no TFLite builtin."""
    text = str(error)
    missing = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", text)))
    names = [layer.name for layer in model.layers
             if missing and not isinstance(layer, keras.layers.InputLayer)
             and _layer_op_types(layer) & set(missing)]
    where = f"layer(s) {names}" if names else "some layer"
    return ValueError(f"{where} of {model.name} need TensorFlow ops with no TFLite builtin "
                      f"({', '.join(missing) or 'see the converter message'}); exporting them "
                      f"would need Flex (SELECT_TF_OPS) kernels, which keras-muxnet does not "
                      f"ship. Converter said:\n{text[:1000]}")


def configure_quantization(converter, quantize, representative_data, input_shape,
                           calibration_steps=None, float_fallback=False):
    """Set a TFLiteConverter up for `quantize` (builtin operators only).

    int8 calibrates on `representative_data` (batches shaped like `input_shape`) and asks for
    integer kernels everywhere; `float_fallback` also allows float builtins, for operators
    with no int8 kernel (e.g. the detectors' post-processing).
    """
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.representative_dataset = representative_batches(
            representative_data, input_shape, calibration_steps)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8] + (
            [tf.lite.OpsSet.TFLITE_BUILTINS] if float_fallback else [])


def run_converter(converter, quantize, int8_io=False, narrow_saturated=False,
                  average_ranges=False):
    """The flatbuffer of a converter set up by `configure_quantization`: `converter.convert()`,
    or for "int8" calibration on the float model's true activation ranges
    (`export.calibration`: TFLite's calibrator logs some tensors with another's values;
    `narrow_saturated`: sigmoid inputs clipped where int8 LOGISTIC saturates;
    `average_ranges`: per-sample ranges averaged instead of the overall min and max)."""
    if quantize == "int8":
        return calibration.convert_int8(converter, int8_io, narrow_saturated, average_ranges)
    return converter.convert()


def convert(model, quantize=None, representative_data=None, int8_io=False, rewrite=True,
            calibration_steps=None):
    """The TFLite flatbuffer of `model` as bytes (see `to_tflite`)."""
    require_tensorflow("TFLite export")
    check_quantize(quantize, representative_data, int8_io)
    spec = _input_spec(model)
    if rewrite:
        model, _ = rewrite_lib.for_inference(model)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([_concrete_function(model)], model)
    # Freeze the weights into constants directly; the default detour through a SavedModel of
    # the Keras 3 model leaves variable ops (and NaNs) in the flatbuffer.
    converter.experimental_lower_to_saved_model = False
    configure_quantization(converter, quantize, representative_data, spec.shape, calibration_steps)
    if int8_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        flatbuffer = run_converter(converter, quantize, int8_io)
    except Exception as error:  # the converter raises its own ConverterError types
        if "flex op" in str(error).lower() or "NEEDS_FLEX" in str(error):
            raise _flex_error(error, model) from None
        raise
    ops.check_builtin_only(flatbuffer)
    if rewrite:
        ops.warn_if_slow(flatbuffer)
    return flatbuffer


def to_tflite(model, path, quantize=None, representative_data=None, int8_io=False,
              rewrite=True, calibration_steps=None):
    """Export `model` to a .tflite file at `path`; returns the path.

    quantize: None (float32), "float16", "dynamic" (int8 weights) or "int8" (full integer,
    needs `representative_data`: an array (N, H, W, C) or an iterable/callable of such batches;
    `calibration_steps` caps how many examples are used). int8_io=True makes the input and
    output int8 too (read their scale/zero point from the interpreter, or use
    `export.runtime.TFLiteModel`). rewrite=False skips the export-time speed rewrite.
    Only TFLite builtin operators are allowed; a layer that would need Flex ops is named in
    the error. The file appears only once complete.
    """
    check_writable(path)
    flatbuffer = convert(model, quantize, representative_data, int8_io, rewrite, calibration_steps)
    return write_bytes(path, flatbuffer)
