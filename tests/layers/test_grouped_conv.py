"""GroupedConv2D: 2-channel groups run as depthwise convolutions + pair swap, exactly."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.layers.grouped_conv import GroupedConv2D
from keras_muxnet.layers.pair_grouped import pair_grouped_conv2d, pair_swap
from tests.helpers import assert_close, save_and_reload, to_numpy

pytestmark = [pytest.mark.both_modes, pytest.mark.all_backends]


def test_pair_swap_trades_neighbours():
    x = np.arange(12.0, dtype="float32").reshape(1, 1, 2, 6)
    np.testing.assert_array_equal(to_numpy(pair_swap(x))[0, 0, 0], [1, 0, 3, 2, 5, 4])


@pytest.mark.parametrize("k, strides, padding", [(3, 1, "SAME"), (5, 2, "SAME"), (3, 2, "VALID"),
                                                 (7, 1, "VALID")])
@pytest.mark.tensorflow_only
def test_forward_and_gradients_equal_the_grouped_kernel(k, strides, padding):
    """Against TensorFlow's own grouped convolution of the same kernel: outputs, the input
    gradient and the kernel gradient."""
    import tensorflow as tf

    rng = np.random.default_rng(k)
    channels = 10
    x = tf.constant(rng.normal(size=(2, 11, 9, channels)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(k, k, 2, channels)).astype(np.float32))
    upstream = None

    def run(conv):
        nonlocal upstream
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = conv(x, kernel)
            if upstream is None:
                upstream = tf.constant(rng.normal(size=y.shape).astype(np.float32))
            loss = tf.reduce_sum(y * upstream)
        return [y, *tape.gradient(loss, [x, kernel])]

    expected = run(lambda a, w: tf.nn.convolution(a, w, strides=strides, padding=padding))
    got = run(lambda a, w: pair_grouped_conv2d(a, w, (strides, strides), padding))
    for name, g, e in zip(("output", "input gradient", "kernel gradient"), got, expected):
        np.testing.assert_allclose(g, e, atol=1e-4, rtol=1e-5, err_msg=name)


def test_layer_loads_conv2d_weights_and_matches_keras_grouped_conv(tmp_path):
    """Same variables and config as Keras' Conv2D: weights move either way, outputs agree,
    and the layer saves and reloads."""
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 12)).astype("float32")
    reference = keras.layers.Conv2D(12, 3, padding="same", groups=6, use_bias=True)
    reference.build(x.shape)
    reference.set_weights([w + 0.1 for w in reference.get_weights()])
    inputs = keras.Input((8, 8, 12))
    model = keras.Model(inputs, GroupedConv2D(12, 3, padding="same", groups=6, name="g")(inputs))
    model.get_layer("g").set_weights(reference.get_weights())
    assert [w.shape for w in model.get_layer("g").weights] == [(3, 3, 2, 12), (12,)]
    assert_close(model.predict(x, verbose=0), reference(x), 1e-5)
    assert_close(save_and_reload(model, tmp_path).predict(x, verbose=0),
                 model.predict(x, verbose=0), 1e-6)


def test_wider_groups_still_run_the_grouped_kernel():
    x = np.random.default_rng(1).normal(size=(1, 6, 6, 8)).astype("float32")
    layer = GroupedConv2D(8, 3, padding="same", groups=2)
    reference = keras.layers.Conv2D(8, 3, padding="same", groups=2)
    reference.build(x.shape)
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    assert_close(layer(x), reference(x), 1e-5)


@pytest.mark.parametrize("k, strides, padding", [(3, 1, "SAME"), (5, 2, "VALID")])
def test_depthwise_pair_form_equals_keras_grouped_conv(k, strides, padding):
    """The pair form itself, on every backend (the layer picks it per backend)."""
    x = np.random.default_rng(k).normal(size=(2, 9, 11, 10)).astype("float32")
    reference = keras.layers.Conv2D(10, k, strides=strides, padding=padding.lower(), groups=5,
                                    use_bias=False)
    reference.build(x.shape)
    got = pair_grouped_conv2d(x, reference.kernel, (strides, strides), padding)
    assert_close(got, reference(x), 1e-4)
