"""Mixed precision (mixed_bfloat16, the CPU policy): trains, saves, reloads, takes float32 weights."""

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.models import MUXNet
from keras_muxnet.training import jobs
from keras_muxnet.training.digits import load_digits
from muxnet_tiny import TRAINING_TINY

# Largest difference in class probability between a mixed_bfloat16 model and the float32 model
# with the same weights (bfloat16 keeps 8 significant bits; measured ~0.003 on held-out digits).
PROBABILITY_TOLERANCE = 0.02


@pytest.fixture
def mixed_bfloat16():
    assert jobs.mixed_precision_policy(False) == "float32"
    if not tf.config.list_physical_devices("GPU"):
        assert jobs.mixed_precision_policy(True) == "mixed_bfloat16"
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _digits(count):
    (x, y), (x_val, _) = load_digits(32)
    return x[:count], y[:count], x_val[:32]


def _name(dtype):
    return tf.as_dtype(dtype).name  # Keras 3 gives strings, tf_keras DTypes


def _build():
    return MUXNet(TRAINING_TINY, weights=None, input_shape=(32, 32, 3), classes=10)


@pytest.mark.slow
@pytest.mark.both_modes
def test_trains_saves_reloads_and_follows_float32(mixed_bfloat16, tmp_path):
    x, y, x_val = _digits(96)
    keras.utils.set_random_seed(0)
    model = _build()
    assert {_name(w.dtype) for w in model.weights} == {"float32"}
    assert model.get_layer("block2b_gconv").compute_dtype == "bfloat16"
    for name in ("block1a_se_expand", "predictions"):  # the SE gate and the softmax
        assert model.get_layer(name).compute_dtype == "float32"
    assert _name(model.output.dtype) == "float32"
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    losses = model.fit(x, y, batch_size=32, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0] and np.all(np.isfinite(losses)), losses

    path = str(tmp_path / "mixed.weights.h5")
    model.save_weights(path)
    reloaded = _build()
    reloaded.load_weights(path)
    np.testing.assert_array_equal(reloaded.predict(x_val, verbose=0), model.predict(x_val, verbose=0))

    keras.mixed_precision.set_global_policy("float32")
    full = _build()
    full.set_weights(model.get_weights())  # the float32 model with the trained weights
    float32_path = str(tmp_path / "float32.weights.h5")
    full.save_weights(float32_path)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    mixed = _build()
    mixed.load_weights(float32_path)
    expected, got = full.predict(x_val, verbose=0), mixed.predict(x_val, verbose=0)
    assert np.abs(got - expected).max() < PROBABILITY_TOLERANCE
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.9
