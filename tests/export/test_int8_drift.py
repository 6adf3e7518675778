"""`export.int8_drift`: the int8 file's error per layer, in steps of each tensor's scale."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export import int8_drift, tflite

layers = keras.layers


def test_tensor_names_lead_to_their_layer():
    names = {"block1a_se_reduce", "block1a_activation", "stem_conv", "sum"}
    assert int8_drift._layer_of("model_1/block1a_se_reduce_1/convolution1", names) == \
        "block1a_se_reduce"
    assert int8_drift._layer_of("m/block1a_activation_1/Relu;m/block1a_bn_1/FusedBatchNormV3;"
                                "m/block1a_dwconv_1/depthwise1", names) == "block1a_activation"
    assert int8_drift._layer_of("m/sum/Add", names) == "sum"
    assert int8_drift._layer_of("Identity", names) is None


def test_drift_of_a_small_int8_file_is_rounding_and_grows_with_a_coarse_range():
    keras.utils.set_random_seed(0)
    x = layers.Input((8, 8, 3))
    a = layers.Conv2D(4, 1, name="a")(x)
    model = keras.Model(x, layers.Conv2D(2, 1, name="b")(layers.ReLU(name="relu")(a)))
    images = np.random.default_rng(0).normal(0, 1, (8, 8, 8, 3)).astype(np.float32)
    drifts = int8_drift.tensor_drift(model, tflite.convert(model, "int8", images), images)
    assert [d.layer for d in drifts] == ["relu", "b"]  # execution order; ReLU fused into a
    assert [d.op for d in drifts] == ["CONV_2D", "CONV_2D"]
    for d in drifts:  # calibrated on these images: within a step, nothing clipped
        assert 0 < d.mean_steps < 0.6 and d.max_steps < 4 and d.clipped == 0, d
    # Calibrated on images 10x smaller, the int8 file clips these
    small = int8_drift.tensor_drift(model, tflite.convert(model, "int8", images / 10), images)
    assert small[0].clipped > 0.1 and small[0].max_steps > 10
    assert "mean" in int8_drift.format_drift(drifts)
    with pytest.raises(ValueError, match=r"images must be \(N, 8, 8, 3\)"):
        int8_drift.tensor_drift(model, tflite.convert(model, "int8", images), images[:, :4])


def test_local_drift_runs_each_layer_on_the_files_own_inputs():
    keras.utils.set_random_seed(0)
    x = layers.Input((8, 8, 3))
    a = layers.Conv2D(4, 1, name="a")(x)
    mean = layers.GlobalAveragePooling2D(keepdims=True, name="mean")(a)
    model = keras.Model(x, layers.Conv2D(2, 1, name="b")(mean))
    images = np.random.default_rng(0).normal(0, 1, (16, 8, 8, 3)).astype(np.float32)
    drifts = {d.layer: d for d in int8_drift.local_drift(
        model, tflite.convert(model, "int8", images), images)}
    # "a" reads the model input, which no layer of the model writes: not checked
    assert set(drifts) == {"mean", "b"}, drifts
    # Float layers against int8 operators on the same int8 inputs: within a step (the output
    # rounded; the conv's int8 kernel and bias rounded too), not a step off on average
    for d in drifts.values():
        assert d.max_steps < 1.0 and abs(d.bias_steps) < 0.5, d
    assert drifts["mean"].op == "MEAN" and drifts["b"].op == "CONV_2D"
    assert "flipped" in int8_drift.format_local_drift(list(drifts.values()))
