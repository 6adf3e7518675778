"""Shared test fixtures: the reference vectors and the Keras-mode markers."""

import os
import pathlib

import pytest

from keras_muxnet._keras import LEGACY_KERAS

# No test may reach the network: weights="imagenet" never downloads unless a test asks for it
# (the download tests serve a file from loopback and lift this themselves).
os.environ.setdefault("KERAS_MUXNET_OFFLINE", "1")

REPO = pathlib.Path(__file__).resolve().parents[1]


def parity_dir():
    """Reference outputs of the authors' PyTorch code: $KERAS_MUXNET_PARITY_DIR or ../shared/parity."""
    return pathlib.Path(os.environ.get("KERAS_MUXNET_PARITY_DIR", REPO.parent / "shared" / "parity"))


@pytest.fixture(scope="session")
def parity():
    path = parity_dir()
    if not path.is_dir():
        pytest.fail(f"reference vectors not found at {path}; set KERAS_MUXNET_PARITY_DIR")
    return path


def pytest_collection_modifyitems(config, items):
    if LEGACY_KERAS:
        return
    skip = pytest.mark.skip(reason="runs in the tf_keras pass (TF_USE_LEGACY_KERAS=1)")
    for item in items:
        if "tf_keras_only" in item.keywords:
            item.add_marker(skip)
