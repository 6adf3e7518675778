"""Small helpers shared by the tests (not fixtures): TFLite op listing and save/reload."""

import os

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras


def tflite_bytes(model):
    """Convert a Keras model to TFLite with builtin ops only.

    (In Keras 3 a concrete function of `model(x)` converts to NaNs; from_keras_model is right.)
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def run_tflite(content, x):
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
    diff = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    assert diff <= atol, f"max |difference| {diff:.3g} > {atol}"
