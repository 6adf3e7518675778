"""Import tensorflow-model-optimization, or explain why it cannot run in this Keras mode."""

from keras_muxnet._keras import LEGACY_KERAS


class KerasModeError(RuntimeError):
    """tfmot was asked for under Keras 3."""


def tfmot():
    """The `tensorflow_model_optimization` module; raises KerasModeError under Keras 3."""
    if not LEGACY_KERAS:
        raise KerasModeError(
            "tensorflow-model-optimization (quantization-aware training, pruning) works only with "
            "tf_keras, not Keras 3: set TF_USE_LEGACY_KERAS=1 in the environment before Python "
            "starts, build the model in that process, then call this again")
    import tensorflow_model_optimization as module

    return module
