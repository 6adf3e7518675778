"""`optimize.qat_form`: the export's fast form with the pair swap as built-in layers."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export.graph import is_kind, producer
from keras_muxnet.export.rewrite import PairSwapDepthwiseConv2D
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D
from keras_muxnet.optimize.qat_form import SwapHalves, qat_form
from muxnet_tiny import GROUPED_BLOCKS, images, tiny_model


@pytest.mark.both_modes
@pytest.mark.slow
def test_qat_form_computes_the_model_on_builtin_depthwise_pairs():
    model = tiny_model()
    form = qat_form(model)
    kinds = [type(layer) for layer in form.layers]
    assert PairSwapDepthwiseConv2D not in kinds
    assert kinds.count(SwapHalves) == GROUPED_BLOCKS
    # Every BatchNorm after a built-in conv is folded into it; those left follow branched convs
    for layer in form.layers:
        if is_kind(layer, keras.layers.BatchNormalization):
            assert isinstance(producer(layer.input), BranchedDepthwiseConv2D), layer.name
    # The input normalization stays (quantize_aware makes it a 1x1 depthwise conv)
    assert kinds.count(keras.layers.Normalization) == 1
    x = images(4)
    np.testing.assert_allclose(form.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)
