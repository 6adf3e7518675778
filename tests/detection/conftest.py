"""A MUXNet small enough for detector tests that still reaches stride 32 with an expansion."""

import pytest

from keras_muxnet.architectures import MUXNetSpec

TINY_BACKBONE = MUXNetSpec(
    name="muxnet_tiny_detection",
    stages=(("ds_k3_s1_c8_se0.25_nre",),
            ("ir_k3_s2_e3_c8_se0.25_nre",),
            ("ir_k3.5_s2_e3_c16_se0.25", "mux_r1_k3_e3_c16_se0.25_l0.5"),
            ("ir_k3_s2_e3_c24_se0.25",),
            ("ir_k3_s2_e3_c32_se0.25",)),
    stem_filters=8, head_filters=64, published=False)


@pytest.fixture(scope="session")
def tiny_backbone():
    return TINY_BACKBONE
