"""Fixtures of the training tests: a tiny MUXNet (one block of each kind) and real photos."""

import numpy as np
import pytest

from keras_muxnet.architectures import MUXNetSpec

TINY = MUXNetSpec(
    name="muxnet_tiny",
    stages=(("ds_k3_s1_c8_se0.25_nre",),
            ("ir_k3_s2_e3_c16_se0.25_nre", "mux_r1_k3_e3_c16_se0.25_l0.5_nre"),
            ("ir_k3.5_s2_e3_c24_se0.25",)),
    stem_filters=8, head_filters=32, published=False)


@pytest.fixture(scope="session")
def tiny_spec():
    return TINY


@pytest.fixture(scope="session")
def photos():
    """Six real photos shipped with scikit-image, uint8 RGB of various sizes."""
    from skimage import data

    images = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry(),
              np.repeat(data.camera()[..., None], 3, axis=-1)]
    return [np.ascontiguousarray(image[::4, ::4]) for image in images]  # small: fast to encode/decode
