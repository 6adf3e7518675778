"""BatchNorm recalibration (training.batch_norm) of a detector after a short training."""

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.detection import SSDLite
from keras_muxnet.training import batch_norm


@pytest.mark.slow
@pytest.mark.both_modes
def test_recalibrated_moving_statistics_are_the_batch_statistics(tiny_backbone):
    model = SSDLite(tiny_backbone, num_classes=2, input_size=64)
    x = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype(np.float32)
    norms = list(batch_norm._batch_norms(model))
    momenta = [layer.momentum for layer in norms]
    assert len(norms) > 10 and all(0.5 < m < 1 for m in momenta)
    stem, last = norms[0], norms[-1]                  # a 32x32 map and a 1x1 map
    assert stem.name == "stem_bn" and last.name.startswith("ssd_")
    inputs = keras.Model(model.inputs, [stem.input, last.input])(x, training=True)
    inputs = [np.asarray(a).reshape(-1, a.shape[-1]) for a in inputs]
    assert np.abs(stem.moving_mean.numpy() - inputs[0].mean(0)).max() > 1e-2  # not yet

    used = batch_norm.recalibrate_batch_norm(model, tf.data.Dataset.from_tensors((x, x[:, 0])))
    assert used == 1 and [layer.momentum for layer in norms] == momenta  # momentum restored
    # One batch: the moving statistics are now its statistics (tf_keras keeps the unbiased
    # variance on the 1x1 maps, n / (n - 1) = 4 / 3 larger).
    for layer, values in zip((stem, last), inputs):
        np.testing.assert_allclose(layer.moving_mean, values.mean(0), rtol=1e-4, atol=1e-4)
        ratio = layer.moving_variance.numpy() / np.maximum(values.var(0), 1e-12)
        assert np.all((ratio > 0.999) & (ratio < 1.334)), ratio
