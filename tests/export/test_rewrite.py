"""The export-time rewrite of pair-grouped convolutions computes the same function."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export import rewrite
from muxnet_tiny import GROUPED_BLOCKS, LARGE_KERNEL_LAYERS, images, tiny_model


def test_pair_swap_layer_equals_grouped_conv_with_batchnorm():
    rng = np.random.default_rng(0)
    channels, k = 12, 5
    kernel = rng.normal(size=(k, k, 2, channels)).astype(np.float32)
    scale, shift = rng.uniform(0.5, 2, channels), rng.normal(size=channels)
    x = rng.normal(size=(2, 9, 9, channels)).astype(np.float32)
    grouped = keras.layers.Conv2D(channels, k, padding="same", groups=channels // 2,
                                  use_bias=False)
    grouped.build(x.shape)
    grouped.set_weights([kernel])
    expected = np.asarray(grouped(x)) * scale + shift
    layer = rewrite.PairSwapDepthwiseConv2D(k)
    layer.build(x.shape)
    layer.set_weights(rewrite.pair_swap_weights(kernel, scale, shift))
    order = rewrite.evens_then_odds(channels)
    got = np.asarray(layer(x[..., order]))
    np.testing.assert_allclose(got, expected[..., order], atol=1e-4, rtol=1e-4)


@pytest.mark.both_modes
def test_rewritten_model_matches_and_has_no_grouped_conv():
    model = tiny_model()
    x = images(3)
    fast, count = rewrite.for_inference(model)
    folded_shuffles = 1  # the first mux block's (tests/export/test_channel_order.py)
    assert count == GROUPED_BLOCKS + LARGE_KERNEL_LAYERS + folded_shuffles + 1  # + the stem
    assert not [l for l in fast.layers if isinstance(l, keras.layers.Conv2D) and l.groups > 1]
    assert fast.get_layer("block3a_dwconv").max_kernel_taps == 25
    assert [l.name for l in fast.layers] == [l.name for l in model.layers]
    np.testing.assert_allclose(fast.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-4, rtol=0)


def test_model_without_the_pattern_comes_back_unchanged():
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same", groups=2)(inputs))
    same, count = rewrite.for_inference(model)  # grouped, but no 1x1 expansion in front
    assert count == 0 and same is model


@pytest.mark.both_modes
def test_searched_7x7_blocks_export_without_slow_ops(tmp_path):
    """The search space offers 7x7 kernels: a single-kernel reduction block (Keras'
    DepthwiseConv2D) and a mux block (its pair-grouped conv) with them export on fast paths."""
    from keras_muxnet.architectures import MUXNetSpec
    from keras_muxnet.export import to_tflite, xnnpack_slow_ops
    from keras_muxnet.models import MUXNet

    spec = MUXNetSpec(name="searched_k7", stages=(
        ("ds_k3_s1_c16_se0.25_nre",),
        ("ir_k7_s2_e4_c24_se0.75", "mux_r1_k7_e4_c24_se0.75_l0.5"),
        ("ir_k7_s1_e4_c32_se0.75",)), stem_filters=16, head_filters=64, published=False)
    model = MUXNet(spec, weights=None, input_shape=(32, 32, 3), classes=10,
                   classifier_activation=None)
    fast, _ = rewrite.for_inference(model)
    assert type(fast.get_layer("block2a_dwconv")) is rewrite.TiledDepthwiseConv2D
    x = images(2)
    np.testing.assert_allclose(fast.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-4, rtol=0)
    assert xnnpack_slow_ops(to_tflite(model, tmp_path / "k7.tflite")) == []


def test_export_warns_about_what_the_rewrite_cannot_fix(tmp_path):
    """A plain grouped conv with 4 channels per group has no MUXNet pattern around it."""
    from keras_muxnet.export import SlowOpsWarning, to_tflite

    inputs = keras.Input((8, 8, 8))
    model = keras.Model(inputs, keras.layers.Conv2D(8, 3, padding="same", groups=2)(inputs))
    with pytest.warns(SlowOpsWarning, match=r"1 x grouped CONV_2D \(4 of 8 channels per group\)"):
        to_tflite(model, tmp_path / "grouped.tflite")
