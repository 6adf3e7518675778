"""The converter against the authors' own outputs: exact at 224x224, the same computation at a
non-square size, reproducible bytes, and every mismatch refused before anything is written."""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf
import torch

from keras_muxnet import architectures
from keras_muxnet._files import sha256_of
from keras_muxnet._keras import keras
from keras_muxnet.checkpoint_conversion import convert_checkpoint
from keras_muxnet.conversion import ConversionError, convert_state_dict
from keras_muxnet.models import MUXNet
from tests.helpers import to_numpy

REPO = pathlib.Path(__file__).resolve().parents[1]

TOLERANCE = 1e-4
NON_SQUARE = (128, 160)


@pytest.fixture(scope="module")
def convert_parity(authors_checkpoint, model_reference, tmp_path_factory):
    """variant -> (variant, ConvertedFile, reference npz): each parity checkpoint converted once
    through the public file-to-file path."""
    done = {}

    def get(variant):
        if variant not in done:
            output = tmp_path_factory.mktemp(variant) / f"{variant}.weights.h5"
            result = convert_checkpoint(authors_checkpoint(variant), variant, output)
            done[variant] = variant, result, model_reference(variant)
        return done[variant]

    return get


@pytest.fixture(params=["muxnet_m", "muxnet_l"])
def converted(request, convert_parity):
    return convert_parity(request.param)


@pytest.mark.both_modes
def test_reproduces_the_authors_logits_and_features_at_224(converted):
    variant, result, reference = converted
    model = MUXNet(variant, weights=result.path, include_preprocessing=False,
                   classifier_activation=None)
    features_model = keras.Model(model.input, [model.get_layer("avg_pool").output, model.output])
    features, logits = (to_numpy(t) for t in features_model(reference.input_nhwc, training=False))
    np.testing.assert_allclose(logits, reference.logits, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(features, reference.features, rtol=0, atol=TOLERANCE)
    assert result.entry == "state_dict_ema"


@pytest.mark.both_modes
def test_same_computation_at_a_non_square_size(convert_parity):
    """The reference outputs exist only at 224x224, so size independence is shown in two links.
    (MUXNet-m only: the mapping is the same code for both variants, and time is short.)

    1. A model built for any size (input (None, None, 3)) with the converted weights reproduces
       the authors' pooled features at 224x224: it is the authors' network.
    2. A model built for 128x160 loads the very same arrays (conversion only transposes kernels,
       nothing depends on the size) and, on a 128x160 input, gives what model 1 gives on it.
    Together: at 128x160 the Keras model computes exactly what was verified against the authors'
    code. (No PyTorch model is built here: the project uses none of the authors' code.)
    """
    variant, result, reference = convert_parity("muxnet_m")
    common = dict(include_top=False, pooling="avg", weights=result.path, include_preprocessing=False)
    any_size = MUXNet(variant, input_shape=(None, None, 3), **common)
    np.testing.assert_allclose(any_size(reference.input_nhwc, training=False), reference.features,
                               rtol=0, atol=TOLERANCE)

    fixed = MUXNet(variant, input_shape=(*NON_SQUARE, 3), **common)
    for layer in fixed.layers:
        for mine, theirs in zip(layer.get_weights(), any_size.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(mine, theirs, err_msg=layer.name)
    x = tf.image.resize(reference.input_nhwc, NON_SQUARE, method="bicubic").numpy()
    at_size = to_numpy(fixed(x, training=False))
    np.testing.assert_allclose(at_size, any_size(x, training=False), rtol=0, atol=1e-5)
    assert np.abs(at_size - reference.features).max() > 1e-3  # it really ran at 128x160


@pytest.mark.both_modes
def test_converted_file_is_byte_for_byte_the_one_in_the_manifest(converted):
    """Same bytes in Keras 3 and tf_keras: anyone can rebuild a weight file and check its sha256."""
    variant, result, _ = converted
    example = json.loads((REPO / "weights" / "manifest.json").read_text())["parity_examples"][variant]
    assert sha256_of(REPO / "tests" / "data" / "parity" / f"{variant}_seeded0.npz") == \
        example["reference_sha256"]
    assert result.sha256 == example["converted_sha256"]


def test_checkpoint_of_the_other_variant_is_named_and_nothing_written(authors_checkpoint, tmp_path):
    output = tmp_path / "out.weights.h5"
    with pytest.raises(ConversionError, match="is a muxnet_l checkpoint .* not muxnet_m; convert "
                                              "it with --model muxnet_l"):
        convert_checkpoint(authors_checkpoint("muxnet_l"), "muxnet_m", output)
    assert list(tmp_path.iterdir()) == []


def test_raw_state_dict_of_the_other_variant_lists_every_problem(model_reference, tmp_path):
    """Without an `arch` to read, the key-by-key check finds the mismatch."""
    source = tmp_path / "state_dict.pth"
    torch.save({k: torch.from_numpy(v) for k, v in model_reference("muxnet_m").state_dict.items()},
               source)
    output = tmp_path / "out.weights.h5"
    with pytest.raises(ConversionError) as error:
        convert_checkpoint(source, "muxnet_l", output)
    assert error.value.misshaped and error.value.missing
    assert "mis-shaped" in str(error.value) and "missing keys" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state_dict.pth"]


def test_renamed_extra_and_reshaped_tensors_are_all_listed(model_reference):
    spec = architectures.MUXNET_M
    state_dict = dict(model_reference("muxnet_m").state_dict)
    state_dict["conv_head.weights"] = state_dict.pop("conv_head.weight")
    state_dict["aux_head.bias"] = np.zeros(3, "float32")
    state_dict["bn2.bias"] = state_dict["bn2.bias"][:-1]
    model = MUXNet(spec, weights=None, input_shape=(64, 64, 3), include_top=False)
    with pytest.raises(ConversionError) as error:
        convert_state_dict(state_dict, model, spec, include_top=False)
    assert error.value.missing == ["conv_head.weight"]
    assert error.value.unexpected == ["aux_head.bias", "conv_head.weights"]
    assert [m[0] for m in error.value.misshaped] == ["bn2.bias"]


@pytest.mark.parametrize("name, problem", [("out.h5", "must end with .weights.h5"),
                                           ("missing/out.weights.h5", "does not exist")])
def test_bad_output_path_fails_before_reading_anything(authors_checkpoint, tmp_path, name, problem):
    with pytest.raises(ValueError, match=problem):
        convert_checkpoint(authors_checkpoint("muxnet_m"), "muxnet_m", tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_failed_conversion_leaves_an_existing_output_untouched(authors_checkpoint, tmp_path):
    output = tmp_path / "out.weights.h5"
    output.write_bytes(b"previous result")
    with pytest.raises(ConversionError):
        convert_checkpoint(authors_checkpoint("muxnet_l"), "muxnet_m", output)
    assert output.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.weights.h5"]


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["module_prefixed_training_checkpoint", "safetensors_state_dict"])
def test_other_checkpoint_layouts_convert_to_the_same_weights(model_reference, converted_file_m,
                                                              tmp_path, layout):
    """DataParallel's `module.` prefix and a bare .safetensors state_dict give the same file."""
    from keras_muxnet.testing import write_training_checkpoint

    reference = model_reference("muxnet_m")
    if layout == "safetensors_state_dict":
        from safetensors.numpy import save_file

        source = tmp_path / "muxnet_m.safetensors"
        save_file({k: np.ascontiguousarray(v) for k, v in reference.state_dict.items()}, str(source))
    else:
        source = write_training_checkpoint(reference, tmp_path / "muxnet_m.pth", parallel_prefix=True)
    result = convert_checkpoint(source, "muxnet_m", tmp_path / "out.weights.h5")
    assert result.sha256 == converted_file_m.sha256


@pytest.fixture(scope="module")
def converted_file_m(convert_parity):
    return convert_parity("muxnet_m")[1]
