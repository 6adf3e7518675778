"""Large depthwise kernels as sums of tiles: same output, tiles XNNPACK runs fast."""

import numpy as np
import pytest

from keras_muxnet.layers import MixedDepthwiseConv2D, MuxConv2D, backend_ops
from keras_muxnet.layers.kernel_tiles import kernel_tiles, tiled_depthwise_conv2d
from tests.helpers import assert_close, save_and_reload

pytestmark = [pytest.mark.both_modes, pytest.mark.all_backends]


@pytest.mark.parametrize("max_taps", [9, 25])
@pytest.mark.parametrize("k", range(1, 14))
def test_tiles_cover_every_tap_once_within_the_limit(k, max_taps):
    covered = np.zeros((k, k), int)
    for r0, r1, c0, c1 in kernel_tiles(k, k, max_taps):
        assert (r1 - r0) * (c1 - c0) <= max(max_taps, 1)
        covered[r0:r1, c0:c1] += 1
    assert (covered == 1).all()


def test_fewest_tiles_of_the_two_layouts():
    assert [len(kernel_tiles(k, k)) for k in (3, 5, 7, 9, 11)] == [1, 1, 3, 4, 6]


@pytest.mark.parametrize("size", [2, 5, 14])
@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("k", [7, 9, 11])
def test_tiled_convolution_equals_the_plain_one(k, strides, size):
    rng = np.random.default_rng(k + strides + size)
    x = rng.normal(size=(2, size, size, 6)).astype(np.float32)
    kernel = rng.normal(size=(k, k, 6, 1)).astype(np.float32)
    pad = ((strides - 1) + (k - 1)) // 2
    padded = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    expected = backend_ops.depthwise_conv2d(padded, kernel, strides, "VALID")
    assert_close(tiled_depthwise_conv2d(x, kernel, strides, pad), expected, 1e-4)


@pytest.mark.tensorflow_only
def test_tiles_that_only_see_padding_are_left_out():
    """At 2x2 input, an 11x11 kernel's outer bands read zeros only: no convolution for them."""
    import tensorflow as tf

    x = tf.TensorSpec((1, 2, 2, 4), tf.float32)
    kernel = tf.ones((11, 11, 4, 1))
    graph = tf.function(lambda t: tiled_depthwise_conv2d(t, kernel, 2, 5)).get_concrete_function(x)
    convs = [op for op in graph.graph.get_operations() if op.type == "DepthwiseConv2dNative"]
    assert 1 <= len(convs) < len(kernel_tiles(11, 11))


@pytest.mark.parametrize("layer", [MixedDepthwiseConv2D((3, 5, 7, 9), strides=2),
                                   MuxConv2D((-1, 0), kernel_size=7)])
def test_layers_with_a_tap_limit_compute_the_same_and_keep_it_on_reload(layer, tmp_path):
    from keras_muxnet._keras import keras

    x = np.random.default_rng(0).normal(size=(2, 16, 16, 24)).astype(np.float32)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    config = {**layer.get_config(), "max_kernel_taps": 25, "name": "tiled"}
    tiled_layer = type(layer).from_config(config)
    tiled = keras.Model(inputs, tiled_layer(inputs))
    tiled_layer.set_weights(layer.get_weights())
    assert_close(tiled.predict(x, verbose=0), model.predict(x, verbose=0), 1e-4)
    reloaded = save_and_reload(tiled, tmp_path)
    assert reloaded.get_layer("tiled").get_config()["max_kernel_taps"] == 25


def test_tap_limit_must_be_positive():
    with pytest.raises(ValueError, match="max_kernel_taps must be at least 1"):
        MixedDepthwiseConv2D((3, 7), max_kernel_taps=0)
