"""Shared test fixtures: the authors' reference data (shipped in tests/data/parity) and the
Keras-mode markers."""

import os
import pathlib

import pytest

from keras_muxnet._keras import BACKEND, LEGACY_KERAS, ON_TENSORFLOW
from keras_muxnet.testing import load_model_reference, write_training_checkpoint

# No test may reach the network: weights="imagenet" never downloads unless a test asks for it
# (the download tests serve a file from loopback and lift this themselves).
os.environ.setdefault("KERAS_MUXNET_OFFLINE", "1")

REPO = pathlib.Path(__file__).resolve().parents[1]
PARITY = REPO / "tests" / "data" / "parity"


@pytest.fixture(scope="session")
def parity():
    """The folder of reference outputs of the authors' PyTorch code (see its README)."""
    return PARITY


@pytest.fixture(scope="session")
def model_reference():
    """variant -> `keras_muxnet.testing.ModelReference` (weights regenerated once per session)."""
    cache = {}

    def get(variant):
        if variant not in cache:
            cache[variant] = load_model_reference(PARITY / f"{variant}_seeded0.npz")
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def authors_checkpoint(model_reference, tmp_path_factory):
    """variant -> path of a checkpoint in the authors' training format (written once per session:
    `state_dict_ema` is the reference, `state_dict` a perturbed half-precision copy)."""
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("authors_checkpoints")
    cache = {}

    def get(variant):
        if variant not in cache:
            cache[variant] = write_training_checkpoint(model_reference(variant),
                                                       folder / f"{variant}_seeded0.pth")
        return cache[variant]

    return get


def pytest_collection_modifyitems(config, items):
    not_tensorflow = pytest.mark.skip(reason=f"needs the TensorFlow backend (this pass: {BACKEND})")
    not_legacy = pytest.mark.skip(reason="runs in the tf_keras pass (TF_USE_LEGACY_KERAS=1)")
    for item in items:
        if not ON_TENSORFLOW and "tensorflow_only" in item.keywords:
            item.add_marker(not_tensorflow)
        if not LEGACY_KERAS and "tf_keras_only" in item.keywords:
            item.add_marker(not_legacy)
