"""The feature pyramid: strides, stable names, any input size, weights by layer name."""

import numpy as np
import pytest

from keras_muxnet import features, models, weight_files
from keras_muxnet._keras import keras
from muxnet_tiny import TINY, images, randomize_batchnorm
from tests.helpers import to_numpy

pytestmark = pytest.mark.both_modes


def test_pyramid_of_a_full_variant_at_any_size():
    model = features.MUXNetFeatures("muxnet_xs", include_expansion=True)
    assert model.inputs[0].shape[1:3] == (None, None)
    out = model(np.zeros((1, 64, 96, 3), "float32"))
    assert sorted(out) == ["P1", "P2", "P3", "P4", "P5", "P5_expansion"]
    for level in range(1, 6):
        assert tuple(out[f"P{level}"].shape[1:3]) == (64 // 2 ** level, 96 // 2 ** level)
    # MUXNet-xs: block5c (64 channels) ends stride 16; block6a expands 64 x 3 at stride 16.
    assert out["P4"].shape[-1] == 64
    assert tuple(out["P5_expansion"].shape[1:]) == (4, 6, 192)
    assert out["P5"].shape[-1] == 1152  # the head conv is the last stride-32 layer


def test_layer_names_are_the_classifiers():
    spec = features.architectures.get_spec("muxnet_xs")
    classifier = models.MUXNetXS(weights=None)
    names = features.pyramid_layer_names(spec, classifier)
    assert names == {"P1": "block1a_add", "P2": "block2a_project_bn",
                     "P3": "block3c_shuffle", "P4": "block5c_shuffle", "P5": "top_activation"}
    assert features.expansion_layer_name(spec) == "block6a_expand_activation"
    # The builders' models give their pyramid too; the spec comes from the model's name.
    assert sorted(features.pyramid_outputs(classifier)) == ["P1", "P2", "P3", "P4", "P5"]


@pytest.mark.all_backends
def test_tiny_spec_gives_the_levels_it_reaches_and_no_expansion():
    model = features.MUXNetFeatures(TINY, input_shape=(32, 32, 3))
    assert sorted(model.output) == ["P1", "P2", "P3"]
    with pytest.raises(ValueError, match="never reaches stride 32"):
        features.expansion_layer_name(TINY)


@pytest.mark.all_backends
def test_weights_load_into_the_pyramid_model_by_layer_name(tmp_path):
    classifier = randomize_batchnorm(models.MUXNet(TINY, weights=None, input_shape=(32, 32, 3)))
    path = str(tmp_path / "tiny.weights.h5")
    weight_files.save_weights_by_name(classifier, path)
    pyramid = features.MUXNetFeatures(TINY, weights=path, input_shape=(32, 32, 3))
    x = images(2, 32)
    cut = keras.Model(classifier.inputs, classifier.get_layer("top_activation").output)
    np.testing.assert_allclose(to_numpy(pyramid(x)["P3"]), to_numpy(cut(x)), atol=1e-5)
