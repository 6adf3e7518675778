"""`optimize.qat_shared_ranges`: the tensors an int8 file gives one scale, found in the QAT form."""

import pytest

from keras_muxnet.optimize.qat_form import qat_form
from keras_muxnet.optimize.qat_shared_ranges import shared_range_groups, unite
from muxnet_tiny import tiny_model


@pytest.mark.both_modes
@pytest.mark.slow
def test_each_channel_mux_block_shares_its_inputs_scale_with_its_concatenation():
    groups = shared_range_groups(qat_form(tiny_model()))
    # The two grouped mux blocks: the previous block's projection (the block's input, part of
    # it passed through), the residual Add (the processed part) and the concatenation. Not the
    # mixed-kernel conv's concatenation of its branches: nothing passes through there.
    assert groups == [[f"block{b}a_project_conv", f"block{b}b_add", f"block{b}b_concat"]
                      for b in (2, 3)]


def test_unite_gives_every_member_the_groups_union():
    ranges = {"a": (-1.0, 2.0), "b": (-3.0, 1.0), "c": (0.0, 5.0), "d": (-0.5, 0.5)}
    united = unite(ranges, [["a", "b", "c"], ["x", "y"]])
    assert united == {"a": (-3.0, 5.0), "b": (-3.0, 5.0), "c": (-3.0, 5.0), "d": (-0.5, 0.5)}
    assert ranges["a"] == (-1.0, 2.0)  # a new dict
