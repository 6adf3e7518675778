"""Keras 3's data parallelism on JAX (keras.distribution.DataParallel) trains a MUXNet.

The JAX pass sets XLA_FLAGS=--xla_force_host_platform_device_count=2, so the CPU shows two
devices: the batch is split between them and the variables are replicated, as on two GPUs.
"""

import numpy as np
import pytest

from keras_muxnet._keras import BACKEND, keras
from keras_muxnet.models import MUXNet
from muxnet_tiny import TRAINING_TINY

pytestmark = [pytest.mark.all_backends,
              pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution is JAX's here")]


@pytest.fixture
def two_devices():
    devices = keras.distribution.list_devices("cpu")
    if len(devices) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 (the JAX pass sets it)")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices[:2]))
    yield devices[:2]
    keras.distribution.set_distribution(None)


@pytest.mark.slow
def test_fit_splits_the_batch_over_two_devices(two_devices):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 32, 32, 3)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 127.5).astype("int32")
    keras.utils.set_random_seed(0)
    model = MUXNet(TRAINING_TINY, weights=None, input_shape=(32, 32, 3), classes=2,
                   classifier_activation=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    kernel = model.get_layer("stem_conv").kernel.value
    assert len(kernel.sharding.device_set) == 2  # replicated on both devices
