import pytest

from keras_muxnet import architectures
from keras_muxnet.architectures import BlockArgs, MUXNetSpec, decode_block, encode_block


def test_decodes_every_field():
    args = decode_block("mux_r2_k5_s1_e6_c80_se0.75_l0.5_x-1.0.1_nre")
    assert args == BlockArgs("mux", (5,), 1, 6.0, 80, 0.75, "relu", 0.5, (-1, 0, 1), 2)


@pytest.mark.parametrize("spec", list(architectures.SPECS.values()), ids=lambda s: s.name)
def test_every_block_string_round_trips(spec):
    for stage in spec.stages:
        for block in stage:
            args = decode_block(block)
            assert decode_block(encode_block(args)) == args


def test_released_m_has_the_authors_eighteen_blocks_in_order():
    blocks = architectures.MUXNET_M.blocks()
    assert len(blocks) == 18
    assert [index for _, _, index in blocks] == list(range(18))
    names = [prefix for prefix, _, _ in blocks]
    assert names[:4] == ["block1a_", "block2a_", "block2b_", "block2c_"]
    assert names[-1] == "block7a_"
    kinds = "".join({"ds": "D", "ir": "I", "mux": "M"}[a.block_type] for _, a, _ in blocks)
    assert kinds == "DIMMIMMIMMIMMIMMMI"
    assert blocks[13][1].kernel_sizes == (3, 5, 7, 9, 11) and blocks[13][1].strides == 2
    assert all(a.strides == 1 for _, a, _ in blocks if a.block_type == "mux")


def test_repeats_take_the_stride_only_once():
    spec = MUXNetSpec("t", stages=(("ir_r3_k3_s2_e4_c24_se0.25",),))
    assert [a.strides for _, a, _ in spec.blocks()] == [2, 1, 1]


def test_describe_rebuilds_the_same_spec():
    namespace = {"MUXNetSpec": MUXNetSpec}
    rebuilt = eval(architectures.MUXNET_L.describe(), namespace)  # noqa: S307 - our own output
    assert rebuilt.blocks() == architectures.MUXNET_L.blocks()
    assert rebuilt.head_filters == 1536


@pytest.mark.parametrize("bad, message", [
    ("zz_k3_c8", "unknown block type"),
    ("ir_k3_s2", "lacks 'c'"),
    ("ir_k3_c8_q9", "cannot parse 'q9'"),
    ("mux_k3_c8", "leave-out ratio in \\(0, 1\\)"),
    ("mux_k3_s2_c8_l0.5", "strides must be 1"),
    ("ir_k3_c8_l0.5", "only applies to mux blocks"),
    ("ir_k3.5_c8_x-1.0", "single kernel size"),
])
def test_bad_block_strings(bad, message):
    with pytest.raises(ValueError, match=message):
        decode_block(bad)


@pytest.mark.parametrize("name", ["muxnet_m", "MUXNet-m", "m", "M"])
def test_get_spec_accepts_common_spellings(name):
    assert architectures.get_spec(name) is architectures.MUXNET_M


def test_get_spec_unknown():
    with pytest.raises(ValueError, match="unknown MUXNet variant 'muxnet_xl'"):
        architectures.get_spec("muxnet_xl")


def test_derived_variants_say_they_are_not_the_authors():
    for spec in (architectures.MUXNET_XS, architectures.MUXNET_S):
        assert not spec.published and "Not the authors' network" in spec.note
