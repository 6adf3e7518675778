import numpy as np
import pytest

import keras_muxnet
from keras_muxnet import conversion, imagenet
from keras_muxnet._keras import keras
from keras_muxnet.models import MUXNet, MUXNetM, MUXNetXS
from muxnet_tiny import TRAINING_TINY
from tests.helpers import assert_close, save_and_reload

pytestmark = pytest.mark.both_modes


def _reference_model(reference, name, **kwargs):
    state = reference.state_dict
    model = MUXNet(name, weights=None, include_preprocessing=False, classifier_activation=None, **kwargs)
    conversion.assign(model, conversion.convert_state_dict(state, model, keras_muxnet.get_spec(name)))
    return model


@pytest.mark.all_backends
@pytest.mark.slow
@pytest.mark.parametrize("name", ["m", "l"])
def test_reproduces_the_authors_logits(model_reference, name):
    reference = model_reference(f"muxnet_{name}")
    model = _reference_model(reference, name)
    x = reference.input_nhwc
    assert_close(model.predict(x, verbose=0), reference.logits, 1e-4)
    features = keras.Model(model.input, model.get_layer("avg_pool").output)
    assert_close(features.predict(x, verbose=0), reference.features, 1e-4)


@pytest.mark.slow
def test_builtin_preprocessing_equals_normalizing_by_hand():
    with_pre = MUXNetXS(weights=None)
    without = MUXNetXS(weights=None, include_preprocessing=False)
    for layer in without.layers:
        layer.set_weights(with_pre.get_layer(layer.name).get_weights())
    rgb = np.random.RandomState(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    assert_close(with_pre.predict(rgb, verbose=0),
                 without.predict(imagenet.normalize_input(rgb), verbose=0), 1e-5)


@pytest.mark.all_backends
def test_keras_applications_signature_and_head_options():
    model = MUXNetXS(weights=None, input_shape=(96, 128, 3), classes=7, classifier_activation=None)
    assert model.output_shape == (None, 7)
    assert model.name == "muxnet_xs"
    pooled = MUXNetXS(weights=None, include_top=False, pooling="max", input_shape=(64, 80, 3))
    assert pooled.output_shape[-1] == keras_muxnet.get_spec("xs").head_filters
    assert len(pooled.output_shape) == 2
    features = MUXNetXS(weights=None, include_top=False)
    assert features.input_shape == (None, None, None, 3)
    x = np.random.rand(1, 100, 60, 3).astype("float32") * 255
    assert features.predict(x, verbose=0).shape == (1, 4, 2, features.output_shape[-1])


def test_stable_keras_applications_style_names():
    names = {layer.name for layer in MUXNetM(weights=None).layers}
    for expected in ["stem_conv", "stem_bn", "block1a_dwconv", "block2a_expand_conv",
                     "block2b_split", "block2b_gconv", "block2b_shuffle", "block3a_dwconv",
                     "block6d_se_reduce", "block7a_project_bn", "top_conv", "predictions"]:
        assert expected in names


@pytest.mark.all_backends
def test_input_tensor():
    tensor = keras.Input((64, 64, 3))
    model = MUXNetXS(weights=None, input_tensor=tensor, include_top=False, pooling="avg")
    assert model.inputs[0] is tensor


def test_fine_tunes_with_fit_and_survives_save_and_reload(tmp_path):
    keras.utils.set_random_seed(0)  # unseeded, plain SGD on batches of 3 once ended in NaN weights
    model = MUXNetXS(weights=None, input_shape=(32, 32, 3), classes=3)
    model.compile(optimizer=keras.optimizers.SGD(1e-3),  # traces faster than Adam
                  loss="sparse_categorical_crossentropy")
    x = np.random.RandomState(1).uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    history = model.fit(x, np.array([0, 1, 2, 0, 1, 2]), epochs=2, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert np.isfinite(model.predict(x, verbose=0)).all()
    reloaded = save_and_reload(model, tmp_path)
    assert_close(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5)


@pytest.mark.all_backends
def test_every_block_kind_trains_and_survives_save_and_reload(tmp_path):
    """The builder's blocks (ds, ir, mixed kernels, grouped mux) learn with `fit` on every
    backend: a small spec, since a whole variant's first train step compiles for minutes on JAX."""
    keras.utils.set_random_seed(0)
    model = MUXNet(TRAINING_TINY, weights=None, input_shape=(32, 32, 3), classes=2,
                   classifier_activation=None)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),  # traces faster than Adam
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.RandomState(1).uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 127.5).astype("int32")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    reloaded = save_and_reload(model, tmp_path)
    assert_close(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5)


@pytest.mark.all_backends
def test_weights_file_round_trip_and_other_variant_is_named(tmp_path):
    model = MUXNetXS(weights=None, input_shape=(32, 32, 3), classes=5)
    path = str(tmp_path / "xs.weights.h5")
    model.save_weights(path)
    again = MUXNetXS(weights=path, input_shape=(32, 32, 3), classes=5)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"does not fit layer '\w+'|no weights for layer '\w+'"):
        MUXNet("muxnet_s", weights=path, input_shape=(32, 32, 3), classes=5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="imagenet_v2"), "no file at 'imagenet_v2'"),
    (dict(weights="/nonexistent/muxnet.weights.h5"), "no file at"),
    (dict(weights=3), "weights must be None, 'imagenet' or a path"),
    (dict(weights=None, pooling="mean"), "pooling must be one of"),
    (dict(weights="imagenet", input_shape=(224, 224, 1)), "has 1 channels; ImageNet weights"),
    (dict(weights=None, input_shape=(224, 224)), r"\(height, width, channels\)"),
    (dict(weights=None, classes=0), "classes must be a positive integer"),
])
@pytest.mark.all_backends
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MUXNetXS(**kwargs)


def test_imagenet_for_derived_variants_is_explained():
    with pytest.raises(ValueError, match="muxnet_xs has no ImageNet weights"):
        MUXNetXS(weights="imagenet")
