"""TFLite export: builtin ops only, parity with Keras in every mode, clear errors."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.architectures import SPECS
from keras_muxnet.export import TFLiteModel, custom_ops, op_counts, to_tflite, xnnpack_slow_ops
from keras_muxnet.models import MUXNet
from muxnet_tiny import images, randomize_batchnorm, tiny_model

SIZE = 64  # the same operators as 224x224, a fraction of the conversion time


def check_builtin(path):
    assert custom_ops(path) == []
    counts = op_counts(path)
    assert not any(name.startswith("CUSTOM") for name in counts), counts
    return counts


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


@pytest.mark.slow
@pytest.mark.both_modes
def test_fp32_tiny_matches_keras_with_builtin_ops(tiny, tmp_path):
    path = to_tflite(tiny, tmp_path / "tiny.tflite")
    counts = check_builtin(path)
    assert counts["DEPTHWISE_CONV_2D"] >= 4 and "DEPTH_TO_SPACE" in counts
    x = images(4)
    np.testing.assert_allclose(TFLiteModel(path)(x), tiny.predict(x, verbose=0), atol=1e-4, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(SPECS))
def test_every_variant_fp32_matches_keras(variant, tmp_path):
    model = randomize_batchnorm(MUXNet(variant, weights=None, input_shape=(SIZE, SIZE, 3),
                                       classifier_activation=None))
    path = to_tflite(model, tmp_path / f"{variant}.tflite")
    check_builtin(path)
    assert xnnpack_slow_ops(path) == []  # 7x7..11x11 kernels tiled, no SPLIT_V, no groups
    assert xnnpack_slow_ops(to_tflite(model, tmp_path / "as_built.tflite", rewrite=False))
    x = images(2, SIZE)
    np.testing.assert_allclose(TFLiteModel(path)(x), model.predict(x, verbose=0), atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def muxnet_m():  # noqa: D103
    return randomize_batchnorm(MUXNet("muxnet_m", weights=None, input_shape=(SIZE, SIZE, 3),
                                      classifier_activation=None))


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["float16", "dynamic"])
def test_tiny_weight_quantized_modes(tiny, quantize, tmp_path):
    path = to_tflite(tiny, tmp_path / "tiny.tflite", quantize=quantize)
    check_builtin(path)
    x = images(4)
    got, reference = TFLiteModel(path)(x), tiny.predict(x, verbose=0)
    if quantize == "float16":
        np.testing.assert_allclose(got, reference, atol=1e-2, rtol=0)
    else:  # int8 weights, float activations: close, not exact
        assert np.abs(got - reference).max() < 0.1 * np.abs(reference).max()


@pytest.mark.slow
def test_muxnet_m_full_integer_is_builtin(muxnet_m, tmp_path):
    path = to_tflite(muxnet_m, tmp_path / "m.tflite", quantize="int8",
                     representative_data=images(16, SIZE, seed=2))
    counts = check_builtin(path)
    assert counts.get("CONV_2D", 0) > 50 and counts.get("DEQUANTIZE", 0) <= 1
    assert xnnpack_slow_ops(path) == []
    x = images(4, SIZE)  # random weights: a sanity bound; accuracy is tested on a trained model
    got, reference = TFLiteModel(path)(x), muxnet_m.predict(x, verbose=0)
    assert np.corrcoef(got.ravel(), reference.ravel())[0, 1] > 0.9


@pytest.mark.slow
def test_int8_io_model_takes_int8(tiny, tmp_path):
    path = to_tflite(tiny, tmp_path / "io.tflite", quantize="int8",
                     representative_data=images(16, seed=3), int8_io=True)
    runner = TFLiteModel(path)
    assert runner.input_dtype == np.int8
    x = images(4)
    assert np.corrcoef(runner(x).ravel(), tiny.predict(x, verbose=0).ravel())[0, 1] > 0.9


# -- bad input ---------------------------------------------------------------------------------
def test_int8_without_representative_data(tiny, tmp_path):
    with pytest.raises(ValueError, match="needs representative_data"):
        to_tflite(tiny, tmp_path / "x.tflite", quantize="int8")
    assert not os.listdir(tmp_path)


def test_representative_data_of_the_wrong_shape(tiny, tmp_path):
    with pytest.raises(ValueError, match=r"shape \(4, 16, 16, 3\).*\(batch, 32, 32, 3\)"):
        to_tflite(tiny, tmp_path / "x.tflite", quantize="int8",
                  representative_data=images(4, size=16))
    assert not os.listdir(tmp_path)


def test_unknown_quantize_mode(tiny, tmp_path):
    with pytest.raises(ValueError, match="unknown quantize mode 'int4'"):
        to_tflite(tiny, tmp_path / "x.tflite", quantize="int4")


class NeedsFlex(keras.layers.Layer):
    """A layer whose TensorFlow op (a matrix inverse) has no TFLite builtin."""

    def call(self, inputs):
        return tf.linalg.inv(inputs)


def test_layer_that_needs_flex_is_named(tmp_path):
    inputs = keras.Input((3, 3))
    model = keras.Model(inputs, NeedsFlex(name="my_inverse")(keras.layers.Dense(3)(inputs)))
    with pytest.raises(ValueError, match="my_inverse.*Flex"):
        to_tflite(model, tmp_path / "flex.tflite")
    assert not os.listdir(tmp_path)


def test_unwritable_path_fails_before_converting(tiny, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        to_tflite(tiny, tmp_path / "missing" / "x.tflite")
    with pytest.raises(ValueError, match="is a folder"):
        to_tflite(tiny, tmp_path)


def test_existing_file_is_kept_when_conversion_fails(tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"previous")
    inputs = keras.Input((3, 3))
    model = keras.Model(inputs, NeedsFlex()(inputs))
    with pytest.raises(ValueError):
        to_tflite(model, target)
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["model.tflite"]
