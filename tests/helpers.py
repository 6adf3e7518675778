"""Small helpers shared by the tests (not fixtures): arrays on any backend, TFLite op listing,
save/reload."""

import os

import numpy as np

from keras_muxnet._keras import LEGACY_KERAS, keras


def to_numpy(x):
    """A NumPy array of a tensor of any backend (a PyTorch tensor may require grad)."""
    return np.asarray(x) if LEGACY_KERAS else keras.ops.convert_to_numpy(x)


def tflite_bytes(model):
    """Convert a Keras model to TFLite with builtin ops only.

    (In Keras 3 a concrete function of `model(x)` converts to NaNs; from_keras_model is right.)
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def run_tflite(content, x):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), ops


def save_and_reload(model, tmp_path):
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    return keras.models.load_model(path)


def assert_close(a, b, atol):
    diff = float(np.max(np.abs(to_numpy(a) - to_numpy(b))))
    assert diff <= atol, f"max |difference| {diff:.3g} > {atol}"
