import numpy as np
import pytest

from keras_muxnet._keras import ON_TENSORFLOW, keras
from keras_muxnet.layers import MuxConv2D
from tests.helpers import assert_close, run_tflite, save_and_reload, tflite_bytes, to_numpy

pytestmark = [pytest.mark.both_modes, pytest.mark.all_backends]

CASES = ["muxconv_k3_scales-1.0.1", "muxconv_k3_scales0.1_stride2", "muxconv_k5_scales-1.0"]


def _reference_layer(ref):
    scales = [int(s) for s in ref["scales"]]
    layer = MuxConv2D(scales, int(ref["kernel_size"]), strides=int(ref["stride"]))
    x = ref["input_nchw"].transpose(0, 2, 3, 1)
    layer.build(x.shape)
    kernels = []
    for i, scale in enumerate(scales):
        key = f"convs.{i}.weight" if scale == 0 else f"convs.{i}.1.weight"
        kernels.append(ref[key].transpose(2, 3, 0, 1))  # C x 1 x k x k -> k x k x C x 1
    layer.set_weights(kernels)
    return layer, x


@pytest.mark.parametrize("case", CASES)
def test_reproduces_the_authors_muxconv(parity, case):
    ref = np.load(parity / f"{case}.npz")
    layer, x = _reference_layer(ref)
    out = to_numpy(layer(x))
    assert out.shape == ref["output_nchw"].transpose(0, 2, 3, 1).shape
    assert_close(out, ref["output_nchw"].transpose(0, 2, 3, 1), 1e-5)


def test_output_shape_matches_call():
    layer = MuxConv2D((-1, 0, 1), 3, strides=2)
    x = np.random.rand(2, 16, 24, 48).astype("float32")
    assert tuple(to_numpy(layer(x)).shape) == tuple(layer.compute_output_shape(x.shape))
    assert layer.compute_output_shape(x.shape) == (2, 8, 12, 48)


def test_superpixel_group_not_divisible_by_four_is_named():
    with pytest.raises(ValueError, match=r"branch 2 \(scale 1, superpixel\).*multiple of 4"):
        MuxConv2D((-1, 0, 1), 3).build((None, 8, 8, 30))


def test_more_scales_than_channels():
    with pytest.raises(ValueError, match="cannot split 2 channels into 3 groups"):
        MuxConv2D((-1, 0, 1), 3).build((None, 8, 8, 2))


def test_odd_size_for_subpixel_branch_is_named():
    with pytest.raises(ValueError, match=r"branch 0 \(scale -1, subpixel\) needs an even height"):
        MuxConv2D((-1, 0), 3).build((None, 7, 8, 16))


def test_stride_two_branches_must_agree():
    with pytest.raises(ValueError, match="branches disagree"):
        MuxConv2D((-1, 0), 3, strides=2).build((None, 10, 12, 16))


def test_invalid_scale():
    with pytest.raises(ValueError, match="scales must be -1"):
        MuxConv2D((-2, 0), 3)


def test_trains_saves_reloads_and_converts_to_builtin_tflite(tmp_path):
    inputs = keras.Input((16, 16, 24))
    outputs = MuxConv2D((-1, 0, 1), 3, name="mux")(inputs)
    outputs = keras.layers.GlobalAveragePooling2D()(outputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(outputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.rand(8, 16, 16, 24).astype("float32")
    before = model.get_layer("mux").get_weights()[0].copy()
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    assert not np.allclose(before, model.get_layer("mux").get_weights()[0])

    reloaded = save_and_reload(model, tmp_path)
    assert isinstance(reloaded.get_layer("mux"), MuxConv2D)
    assert reloaded.get_layer("mux").get_config()["scales"] == [-1, 0, 1]
    assert_close(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-6)

    if ON_TENSORFLOW:  # TFLite export is TensorFlow's
        out, ops = run_tflite(tflite_bytes(model), x[:1])
        assert_close(out, model.predict(x[:1], verbose=0), 1e-5)
        assert {"SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D"} <= ops
        assert not any(op.startswith("Flex") for op in ops)
