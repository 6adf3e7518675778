"""The Keras this process runs on: Keras 3 by default, `tf_keras` with TF_USE_LEGACY_KERAS=1.

TensorFlow itself reads the same variable to decide what `tf.keras` is, so we follow it:
tensorflow-model-optimization only works with `tf_keras`, everything else prefers Keras 3.
Every module of the package imports `keras` from here and never picks a flavour on its own.
"""

import os

LEGACY_KERAS = os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in ("1", "true", "yes")

if LEGACY_KERAS:
    import tf_keras as keras  # noqa: F401
else:
    import keras  # noqa: F401

KERAS_MODE = "tf_keras" if LEGACY_KERAS else "keras3"

# The array library under Keras: tf_keras is always TensorFlow; Keras 3 follows KERAS_BACKEND.
BACKEND = "tensorflow" if LEGACY_KERAS else keras.backend.backend()
ON_TENSORFLOW = BACKEND == "tensorflow"


class BackendError(RuntimeError):
    """A TensorFlow-only feature was called while Keras runs on another backend."""


def require_tensorflow(feature, instead=None):
    """Refuse a TensorFlow-only feature (TFLite, ONNX, tfmot, tf.data, tf.distribute) on JAX or
    PyTorch, naming the backend and what to do instead."""
    if ON_TENSORFLOW:
        return
    advice = instead or ("build or load the model in a process with KERAS_BACKEND=tensorflow "
                         "(a .keras or .weights.h5 file moves between backends unchanged)")
    raise BackendError(f"{feature} needs Keras on the TensorFlow backend, but this process runs "
                       f"Keras {keras.__version__} on {BACKEND!r}; {advice}")


def register(cls):
    """Register a layer class as Keras-serializable under the package name."""
    return keras.saving.register_keras_serializable(package="keras_muxnet")(cls)


def is_keras_tensor(value):
    return keras.backend.is_keras_tensor(value)


def variable_short_name(variable):
    """`kernel`, `gamma`, `moving_mean`, ...: a variable's own name without its layer's path or
    TensorFlow's `:0` (Keras 3 keeps it in `.path`, tf_keras in `.name`)."""
    full = getattr(variable, "path", None) or variable.name
    return full.split("/")[-1].split(":")[0]
