"""`optimize.qat_form`: the export's fast form with the pair swap as built-in layers."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export.graph import is_kind, producer
from keras_muxnet.export.rewrite import PairSwapDepthwiseConv2D
from keras_muxnet.layers import MixedDepthwiseConv2D
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D
from keras_muxnet.optimize.qat_form import SwapHalves, qat_form
from muxnet_tiny import GROUPED_BLOCKS, images, tiny_model


@pytest.mark.both_modes
@pytest.mark.slow
def test_qat_form_computes_the_model_on_builtin_layers():
    model = tiny_model()
    form = qat_form(model)
    kinds = [type(layer) for layer in form.layers]
    assert PairSwapDepthwiseConv2D not in kinds
    assert kinds.count(SwapHalves) == GROUPED_BLOCKS
    # The mixed-kernel conv (3x3, 5x5, 7x7 at stride 2) as a depthwise conv per branch, the
    # 7x7 one as three row tiles of their own; its BatchNorm folded into them. Only the
    # tiles' windows are cropped out of the padded input
    assert MixedDepthwiseConv2D not in kinds
    tiles = [layer for layer in form.layers if layer.name.startswith("block3a_dwconv_2_tile")]
    assert [tuple(layer.kernel_size) for layer in tiles if hasattr(layer, "kernel_size")] == [
        (2, 7), (2, 7), (3, 7)]
    windows = [layer.name for layer in form.layers if type(layer) is keras.layers.Cropping2D]
    assert sorted(windows) == [f"block3a_dwconv_2_tile{i}_window" for i in range(3)], windows
    # Every BatchNorm after a built-in conv is folded into it; the one left follows the
    # spatial-multiplexing conv (pixel-shuffle branches)
    for layer in form.layers:
        if is_kind(layer, keras.layers.BatchNormalization):
            assert isinstance(producer(layer.input), BranchedDepthwiseConv2D), layer.name
    # Swish as sigmoid and Multiply, sigmoid on its own (the int8 file's LOGISTIC and MUL);
    # no convolution keeps a swish or sigmoid activation
    activations = {layer.get_config()["activation"] for layer in form.layers
                   if type(layer) is keras.layers.Activation}
    assert activations <= {"sigmoid", "relu"}, activations
    assert not any(getattr(layer, "activation", None) in (keras.activations.swish,
                                                          keras.activations.sigmoid)
                   for layer in form.layers if type(layer) is not keras.layers.Activation)
    # A ReLU behind a built-in conv is the conv's activation, as TFLite fuses it
    for layer in form.layers:
        if type(layer) is keras.layers.Activation and layer.get_config()["activation"] == "relu":
            assert type(producer(layer.input)) not in (keras.layers.Conv2D,
                                                       keras.layers.DepthwiseConv2D), layer.name
    assert form.get_layer("block1a_dwconv").get_config()["activation"] == "relu"
    # The input normalization stays (quantize_aware makes it a 1x1 depthwise conv)
    assert kinds.count(keras.layers.Normalization) == 1
    x = images(4)
    np.testing.assert_allclose(form.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)
