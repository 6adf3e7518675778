import numpy as np
import pytest

from keras_muxnet._keras import ON_TENSORFLOW, keras
from keras_muxnet.layers import MixedDepthwiseConv2D, symmetric_padding
from keras_muxnet.layers.channels import split_sizes
from tests.helpers import assert_close, run_tflite, save_and_reload, tflite_bytes, to_numpy

pytestmark = [pytest.mark.both_modes, pytest.mark.all_backends]


def test_split_rule_gives_the_remainder_to_the_first_group():
    assert split_sizes(448, 5) == [92, 89, 89, 89, 89]


@pytest.mark.parametrize("strides", [1, 2])
def test_equals_one_depthwise_conv_per_group(strides):
    """Each group is an ordinary depthwise conv with the authors' symmetric padding."""
    x = np.random.RandomState(0).rand(2, 12, 10, 11).astype("float32")
    layer = MixedDepthwiseConv2D((3, 5, 7), strides=strides)
    out = to_numpy(layer(x))
    start = 0
    for size, k, kernel in zip(split_sizes(11, 3), (3, 5, 7), layer.get_weights()):
        pad = symmetric_padding(k, strides)
        part = np.pad(x[..., start:start + size], [(0, 0), (pad, pad), (pad, pad), (0, 0)])
        ref = keras.layers.DepthwiseConv2D(k, strides=strides, padding="valid", use_bias=False)
        ref.build(part.shape)
        ref.set_weights([kernel])
        assert_close(out[..., start:start + size], ref(part), 1e-5)
        start += size
    assert out.shape == tuple(layer.compute_output_shape(x.shape))


def test_saves_reloads_and_converts(tmp_path):
    inputs = keras.Input((14, 14, 20))
    outputs = MixedDepthwiseConv2D((3, 5, 7, 9), strides=2, name="mixed")(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.rand(1, 14, 14, 20).astype("float32")
    reloaded = save_and_reload(model, tmp_path)
    assert reloaded.get_layer("mixed").get_config()["kernel_sizes"] == [3, 5, 7, 9]
    assert_close(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)
    if ON_TENSORFLOW:  # TFLite export is TensorFlow's
        out, ops = run_tflite(tflite_bytes(model), x)
        assert_close(out, model.predict(x, verbose=0), 1e-5)
        assert not any(op.startswith("Flex") for op in ops)
