"""keras.applications' own conformance checks (keras/src/applications/applications_test.py),
run on our builders with their default arguments, as keras runs them on every application:
any channel count without ImageNet weights, a custom input shape and tensor, pooling, the
classifier activation, and a serialization round trip."""

import numpy as np
import pytest

import keras_muxnet
from keras_muxnet import imagenet
from keras_muxnet._keras import keras
from keras_muxnet.models import MUXNetL, MUXNetM, MUXNetS, MUXNetXS
from tests.helpers import to_numpy

pytestmark = pytest.mark.both_modes

BUILDERS = [(MUXNetXS, "xs"), (MUXNetS, "s"), (MUXNetM, "m"), (MUXNetL, "l")]


def _last_dim(name):
    return keras_muxnet.get_spec(name).head_filters


@pytest.mark.slow
@pytest.mark.parametrize("builder, name", BUILDERS)
@pytest.mark.parametrize("channels", [1, 4])
def test_notop_variable_input_channels(builder, name, channels):
    model = builder(weights=None, include_top=False, input_shape=(None, None, channels))
    assert list(model.outputs[0].shape) == [None, None, None, _last_dim(name)]


@pytest.mark.parametrize("channels", [1, 4])
def test_classifier_and_no_preprocessing_with_other_channel_counts(channels):
    with_top = MUXNetXS(weights=None, input_shape=(64, 64, channels), classes=5)
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, channels)).astype("float32")
    probabilities = with_top.predict(images, verbose=0)
    assert probabilities.shape == (2, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    raw = MUXNetXS(weights=None, include_top=False, include_preprocessing=False,
                   input_shape=(64, 64, channels))
    assert raw.output_shape == (None, 2, 2, _last_dim("xs"))


def test_other_channel_counts_get_the_average_colour_statistics():
    grey = MUXNetXS(weights=None, include_top=False, input_shape=(32, 32, 1))
    rgb = MUXNetXS(weights=None, include_top=False, input_shape=(32, 32, 3))
    layer = grey.get_layer("normalization")
    x = np.full((1, 2, 2, 1), 114.495, "float32")  # 255 * 0.449, the average mean
    np.testing.assert_allclose(to_numpy(layer(x)), 0, atol=1e-5)
    assert rgb.get_layer("normalization").get_config()["mean"] is not None
    expected = (np.array([[200.0]]) / 255 - np.mean(imagenet.MEAN_RGB)) / np.mean(imagenet.STD_RGB)
    np.testing.assert_allclose(to_numpy(layer(np.full((1, 1, 1, 1), 200.0, "float32")))[0, 0],
                               expected, rtol=1e-5)


def test_imagenet_weights_still_need_rgb():
    with pytest.raises(ValueError, match="has 1 channels; ImageNet weights take 3 .RGB."):
        MUXNetM(weights="imagenet", include_top=False, input_shape=(None, None, 1))


def test_notop_custom_input_shape():
    model = MUXNetXS(weights=None, include_top=False, input_shape=(123, 123, 3))
    assert list(model.outputs[0].shape)[-1] == _last_dim("xs")


def test_custom_input_tensor():
    tensor = keras.Input(shape=(96, 96, 3))
    model = MUXNetXS(weights=None, input_tensor=tensor, classes=3)
    assert model.inputs[0] is tensor or model.inputs[0].shape == tensor.shape
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_pooling(pooling):
    model = MUXNetXS(weights=None, include_top=False, pooling=pooling)
    assert list(model.outputs[0].shape) == [None, _last_dim("xs")]


def test_classifier_activation():
    model = MUXNetXS(weights=None, include_top=True, classifier_activation="softmax")
    assert model.layers[-1].activation.__name__ == "softmax"
    model = MUXNetXS(weights=None, include_top=True, classifier_activation=None)
    assert model.layers[-1].activation.__name__ == "linear"


def test_serialization_round_trip():
    model = MUXNetXS(weights=None, input_shape=(64, 64, 3), classes=4)
    config = keras.saving.serialize_keras_object(model)
    rebuilt = keras.saving.deserialize_keras_object(config)
    assert len(rebuilt.weights) == len(model.weights)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
