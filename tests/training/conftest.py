"""Fixtures of the training tests: a tiny MUXNet (muxnet_tiny.TRAINING_TINY) and real photos."""

import numpy as np
import pytest

from muxnet_tiny import TRAINING_TINY


@pytest.fixture(scope="session")
def tiny_spec():
    return TRAINING_TINY


@pytest.fixture(scope="session")
def photos():
    """Six real photos shipped with scikit-image, uint8 RGB of various sizes."""
    from skimage import data

    images = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry(),
              np.repeat(data.camera()[..., None], 3, axis=-1)]
    return [np.ascontiguousarray(image[::4, ::4]) for image in images]  # small: fast to encode/decode
