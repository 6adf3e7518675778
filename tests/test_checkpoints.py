"""Reading PyTorch checkpoints: every format the authors' files may come in, and every bad file
refused with a clear error, without ever running code from the file."""

import argparse
import os
import pickle
import sys

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from keras_muxnet.checkpoints import CheckpointError, read_checkpoint


@pytest.fixture(scope="module")
def training_checkpoint(authors_checkpoint):
    return torch.load(authors_checkpoint("muxnet_m"), map_location="cpu", weights_only=True)


def _numpy(state_dict):
    return {k: v.float().numpy() if v.is_floating_point() else v.numpy() for k, v in state_dict.items()}


def _assert_same(arrays, state_dict):
    expected = _numpy(state_dict)
    assert sorted(arrays) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(arrays[key], value, err_msg=key)


def test_training_checkpoint_prefers_ema_weights(authors_checkpoint, training_checkpoint):
    checkpoint = read_checkpoint(authors_checkpoint("muxnet_m"))
    assert checkpoint.entry == "state_dict_ema"
    assert (checkpoint.arch, checkpoint.epoch) == ("muxnet_m", training_checkpoint["epoch"])
    _assert_same(checkpoint.state_dict, training_checkpoint["state_dict_ema"])
    assert checkpoint.state_dict["conv_stem.weight"].dtype == np.float32


def test_use_state_dict_takes_the_plain_weights_widened_to_float32(authors_checkpoint,
                                                                    training_checkpoint):
    checkpoint = read_checkpoint(authors_checkpoint("muxnet_m"), use_state_dict=True)
    assert checkpoint.entry == "state_dict"
    assert training_checkpoint["state_dict"]["conv_stem.weight"].dtype == torch.float16
    assert checkpoint.state_dict["conv_stem.weight"].dtype == np.float32
    _assert_same(checkpoint.state_dict, training_checkpoint["state_dict"])
    ema = training_checkpoint["state_dict_ema"]["conv_stem.weight"].numpy()
    assert not np.array_equal(checkpoint.state_dict["conv_stem.weight"], ema)


def test_raw_state_dict_in_legacy_format_with_dataparallel_prefix(tmp_path, training_checkpoint):
    ema = training_checkpoint["state_dict_ema"]
    path = tmp_path / "muxnet_m.init"
    torch.save({"module." + k: v for k, v in ema.items()}, path, _use_new_zipfile_serialization=False)
    checkpoint = read_checkpoint(path)
    assert checkpoint.entry == "(raw state_dict)" and checkpoint.arch is None
    _assert_same(checkpoint.state_dict, ema)


def test_timm_training_args_namespace_is_accepted(tmp_path, training_checkpoint):
    """timm stores the training `args` (an argparse.Namespace) in its checkpoints."""
    path = tmp_path / "model_best.pth.tar"
    torch.save({**training_checkpoint, "args": argparse.Namespace(model="muxnet_m", lr=0.016),
                "version": 2}, path)
    assert read_checkpoint(path).entry == "state_dict_ema"


def test_safetensors(tmp_path, training_checkpoint):
    path = tmp_path / "muxnet_m.safetensors"
    save_file(_numpy(training_checkpoint["state_dict_ema"]), str(path))
    checkpoint = read_checkpoint(path)
    _assert_same(checkpoint.state_dict, training_checkpoint["state_dict_ema"])


class _CreatesMarker:
    """Unpickling this object calls open(marker, "w"): it would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_payload_is_live_when_unpickled_unsafely(tmp_path):
    """The malicious payload used below really runs under a plain unpickler."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_CreatesMarker(marker), protocol=2)).close()
    assert marker.exists()


@pytest.mark.parametrize("kind", ["zip", "legacy", "bare_pickle"])
def test_malicious_pickle_never_runs(tmp_path, kind):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    payload = {"state_dict": {"w": torch.zeros(1)}, "x": _CreatesMarker(marker)}
    if kind == "zip":
        torch.save(payload, path)
    elif kind == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"x": _CreatesMarker(marker)}, protocol=2))
    with pytest.raises(CheckpointError, match="refused to load .*would call .*open"):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "head_only", "empty", "garbage"])
def test_damaged_checkpoint_is_a_clear_error(tmp_path, authors_checkpoint, damage):
    data = authors_checkpoint("muxnet_m").read_bytes()
    contents = {"truncated": data[: len(data) // 2], "head_only": data[:200], "empty": b"",
                "garbage": np.random.default_rng(0).bytes(4096)}[damage]
    path = tmp_path / "broken.pth"
    path.write_bytes(contents)
    with pytest.raises(CheckpointError, match="truncated or corrupt|corrupt, not a checkpoint"):
        read_checkpoint(path)


def test_truncated_safetensors(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"a": np.ones((64, 64), "float32")}, str(path))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable .safetensors file"):
        read_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file at"):
        read_checkpoint(tmp_path / "nothing.pth")


def test_dict_without_weights_names_its_keys(tmp_path):
    path = tmp_path / "odd.pth"
    torch.save({"epoch": 3, "optimizer": {"lr": 0.1}}, path)
    with pytest.raises(CheckpointError, match=r"no 'state_dict_ema' .* top-level keys are \['epoch', 'optimizer'\]"):
        read_checkpoint(path)


def test_use_state_dict_when_only_ema_exists(tmp_path, training_checkpoint):
    path = tmp_path / "ema_only.pth"
    torch.save({"state_dict_ema": training_checkpoint["state_dict_ema"]}, path)
    with pytest.raises(CheckpointError, match="no 'state_dict' or 'model'"):
        read_checkpoint(path, use_state_dict=True)


def test_prefixed_and_plain_copies_of_one_tensor(tmp_path):
    path = tmp_path / "twice.pth"
    torch.save({"bn1.weight": torch.ones(2), "module.bn1.weight": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="both 'bn1.weight' and 'module.bn1.weight'"):
        read_checkpoint(path)


def test_non_finite_weights(tmp_path):
    path = tmp_path / "nan.pth"
    torch.save({"bn1.weight": torch.tensor([1.0, float("nan")])}, path)
    with pytest.raises(CheckpointError, match="'bn1.weight' holds NaN"):
        read_checkpoint(path)


def test_without_torch_the_message_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    path.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(CheckpointError, match=r"needs torch, which is not installed: pip install "
                                              r"'keras-muxnet\[convert\]'"):
        read_checkpoint(path)
    assert os.path.exists(path)
