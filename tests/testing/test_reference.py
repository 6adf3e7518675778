"""The compact references rebuild the authors' state_dict by their documented rule, and the
checkpoints written from them look like the authors' training checkpoints."""

import math

import numpy as np
import pytest

from keras_muxnet.checkpoints import read_checkpoint
from keras_muxnet.testing import load_model_reference, regenerate_kernels, write_training_checkpoint


def test_kernels_follow_the_documented_rule_from_one_stream():
    keys = ["a.weight", "b.weight"]
    shapes = np.array([[4, 3, 3, 3], [10, 4, 0, 0]])
    kernels = regenerate_kernels(7, keys, shapes, [4, 2])
    stream = np.random.RandomState(7)
    first = stream.standard_normal((4, 3, 3, 3)).astype(np.float32) * np.float32(math.sqrt(2 / 27))
    second = stream.standard_normal((10, 4)).astype(np.float32) * np.float32(math.sqrt(2 / 4))
    np.testing.assert_array_equal(kernels["a.weight"], first)
    np.testing.assert_array_equal(kernels["b.weight"], second)
    assert list(kernels) == keys


@pytest.mark.parametrize("variant, params", [("muxnet_m", 3354276), ("muxnet_l", 4041178)])
def test_reference_rebuilds_the_whole_state_dict(model_reference, variant, params):
    reference = model_reference(variant)
    assert reference.variant == variant and reference.params == params
    counted = sum(v.size for k, v in reference.state_dict.items()
                  if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert counted == params
    assert reference.input_nhwc.shape == (2, 224, 224, 3) and reference.logits.shape == (2, 1000)


def test_a_damaged_reference_names_the_missing_tensor(parity, tmp_path):
    with np.load(parity / "muxnet_m_seeded0.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "stored/bn1.weight"}
    path = tmp_path / "muxnet_m_seeded0.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="'bn1.weight' is neither regenerated nor stored"):
        load_model_reference(path)


def test_training_checkpoint_holds_the_reference_as_ema_and_a_perturbed_half_copy(model_reference,
                                                                                 tmp_path):
    pytest.importorskip("torch")
    reference = model_reference("muxnet_m")
    path = write_training_checkpoint(reference, tmp_path / "m.pth", parallel_prefix=True)
    ema = read_checkpoint(path)
    assert (ema.entry, ema.arch) == ("state_dict_ema", "muxnet_m")
    assert sorted(ema.state_dict) == sorted(reference.state_dict)  # `module.` stripped on read
    for key, value in reference.state_dict.items():
        np.testing.assert_array_equal(ema.state_dict[key], value, err_msg=key)
    plain = read_checkpoint(path, use_state_dict=True).state_dict
    kernel = reference.state_dict["conv_stem.weight"]
    assert not np.allclose(plain["conv_stem.weight"], kernel, atol=1e-3)
    assert np.abs(plain["conv_stem.weight"] - kernel).max() < 0.5 * np.abs(kernel).max()
    assert [p.name for p in tmp_path.iterdir()] == ["m.pth"]
