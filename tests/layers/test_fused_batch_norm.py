"""The builders' BatchNormalization on TF's fused kernel computes what Keras' computes."""

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import LEGACY_KERAS, keras
from keras_muxnet.layers.fused_batch_norm import BatchNormalization
from muxnet_tiny import images, randomize_batchnorm, tiny_model


def _pair(shape):
    reference = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9)
    fused = BatchNormalization(epsilon=1e-5, momentum=0.9)
    reference.build(shape)
    fused.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.uniform(0.5, 2.0, w.shape).astype("float32") for w in reference.get_weights()]
    reference.set_weights(weights)
    fused.set_weights(weights)
    return reference, fused


def _step(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * upstream)
    return [y, *tape.gradient(loss, [x, *layer.trainable_weights]),
            *[w.numpy() for w in layer.non_trainable_weights]]


def test_training_step_and_inference_equal_keras():
    """Output, gradients (input, gamma, beta), updated moving statistics (Keras' biased batch
    variance) and the inference output afterwards."""
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(2.0, 3.0, (4, 7, 5, 6)).astype("float32"))
    upstream = tf.constant(rng.normal(size=x.shape).astype("float32"))
    reference, fused = _pair(x.shape)
    names = ["output", "input gradient", "gamma gradient", "beta gradient", "moving mean",
             "moving variance"]
    for name, got, want in zip(names, _step(fused, x, upstream), _step(reference, x, upstream)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(fused(x, training=False), reference(x, training=False),
                               rtol=1e-5, atol=1e-5)


def test_falls_back_to_keras_where_the_fused_kernel_does_not_apply():
    x = tf.constant(np.random.default_rng(2).normal(size=(3, 5, 4)).astype("float32"))  # 3-D
    reference, fused = _pair(x.shape)
    np.testing.assert_allclose(fused(x, training=True), reference(x, training=True), atol=1e-5)
    fused.synchronized = True
    assert not fused._fusable(tf.zeros((1, 2, 2, 4)), None)


@pytest.mark.skipif(LEGACY_KERAS, reason="tf_keras' BatchNormalization is fused already")
def test_weights_saved_by_keras_batchnorm_models_load(tmp_path):
    """A .weights.h5 written by the same network with Keras' own BatchNormalization (as built
    before this layer existed) loads with `load_weights`, and the outputs agree."""
    model = tiny_model()
    randomize_batchnorm(model)
    assert any(type(layer) is BatchNormalization for layer in model.layers)

    def with_keras_batchnorm(layer):
        if type(layer) is BatchNormalization:
            return keras.layers.BatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    before = keras.models.clone_model(model, clone_function=with_keras_batchnorm)
    before.set_weights(model.get_weights())
    path = str(tmp_path / "before.weights.h5")
    before.save_weights(path)
    fresh = tiny_model()
    fresh.load_weights(path)
    x = images(2)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), before.predict(x, verbose=0),
                               atol=1e-4, rtol=0)
