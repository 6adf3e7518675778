"""Latency ablations take exactly one architectural choice out of every block."""

import pytest

from keras_muxnet import ablations, latency
from keras_muxnet.architectures import MUXNET_M, MUXNetSpec, decode_block, encode_block
from keras_muxnet.layers import MuxConv2D
from keras_muxnet.layers.grouped_conv import GroupedConv2D


def _blocks(spec):
    return [args for _, args, _ in spec.blocks()]


def test_each_ablation_changes_only_its_choice():
    base = _blocks(MUXNET_M)
    relu = _blocks(ablations.resolve("muxnet_m+relu"))
    assert {a.activation for a in relu} == {"relu"}
    no_se = _blocks(ablations.resolve("m+no-se"))
    assert {a.se_ratio for a in no_se} == {0.0}
    flat = _blocks(ablations.resolve("muxnet_m+depthwise-mux"))
    assert [a.scales for a in flat if a.block_type == "mux"] == [(0,)] * 11
    for ablated in (relu, no_se, flat):
        assert [(a.block_type, a.kernel_sizes, a.filters, a.expand_ratio) for a in ablated] == \
            [(a.block_type, a.kernel_sizes, a.filters, a.expand_ratio) for a in base]


def test_ablated_model_builds_without_grouped_convs():
    model = latency.build_model("muxnet_m+depthwise-mux", size=64)
    assert not [l for l in model.layers if isinstance(l, GroupedConv2D)]
    assert len([l for l in model.layers if isinstance(l, MuxConv2D)]) == 11
    assert model.name == "muxnet_m-depthwise-mux"


def test_unknown_ablation_is_named():
    with pytest.raises(ValueError, match=r"unknown ablation\(s\) \['no-swish'\]"):
        ablations.resolve("muxnet_m+no-swish")
    with pytest.raises(ValueError, match="unknown model 'muxnet_m\\+no-swish'"):
        latency.build_model("muxnet_m+no-swish")


def test_ablated_specs_round_trip_as_strings():
    spec = ablations.resolve("muxnet_m+relu+no-se+depthwise-mux")
    for stage in spec.stages:
        for block in stage:
            args = decode_block(block)
            assert encode_block(args) == block
            assert decode_block(encode_block(args)) == args
    pasted = eval(spec.describe(), {"MUXNetSpec": MUXNetSpec})  # describe() is code to paste back
    assert pasted.stages == spec.stages and pasted.name == spec.name
    assert spec.name == "muxnet_m-relu-no-se-depthwise-mux" and not spec.published
