"""The Keras switch: which Keras and backend the package runs on, and TensorFlow-only refusals."""

import os

import pytest

from keras_muxnet._keras import BACKEND, LEGACY_KERAS, ON_TENSORFLOW, BackendError, keras

pytestmark = pytest.mark.all_backends


def test_backend_is_the_one_keras_runs_on():
    if LEGACY_KERAS:
        assert BACKEND == "tensorflow"
    else:
        assert BACKEND == keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")
    assert ON_TENSORFLOW == (BACKEND == "tensorflow")


def _tflite(model, tmp_path):
    from keras_muxnet.export import to_tflite

    return to_tflite(model, tmp_path / "model.tflite")


def _onnx(model, tmp_path):
    from keras_muxnet.export import to_onnx

    return to_onnx(model, tmp_path / "model.onnx")


def _rewrite(model, tmp_path):
    from keras_muxnet.export import for_inference

    return for_inference(model)


def _strategy(model, tmp_path):
    from keras_muxnet.training import make_strategy

    return make_strategy()


@pytest.mark.skipif(ON_TENSORFLOW, reason="the refusals are for JAX and PyTorch")
@pytest.mark.parametrize("call, feature", [(_tflite, "TFLite export"), (_onnx, "ONNX export"),
                                           (_rewrite, "export rewrite"),
                                           (_strategy, "tf.distribute")])
def test_tensorflow_only_features_name_the_backend_and_write_nothing(call, feature, tmp_path):
    from keras_muxnet.models import MUXNet
    from muxnet_tiny import TRAINING_TINY

    model = MUXNet(TRAINING_TINY, weights=None, input_shape=(32, 32, 3), classes=2)
    with pytest.raises(BackendError, match=rf"{feature}.*on '{BACKEND}'.*KERAS_BACKEND"):
        call(model, tmp_path)
    assert list(tmp_path.iterdir()) == []
