"""Full-integer TFLite of a trained MUXNet agrees with the float model on real held-out images,
and the file holds the primitives a MUXNet exports: the grouped conv of the channel-multiplexed
blocks (as depthwise pairs) and a mixed-kernel 7x7 group (as <=25-tap tiles)."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export import compare, op_counts, rewrite, runtime, to_tflite, xnnpack_slow_ops
from keras_muxnet.layers import MixedDepthwiseConv2D
from keras_muxnet.layers.kernel_tiles import kernel_tiles
from keras_muxnet.training.digits import load_digits
from muxnet_tiny import DIGITS, train_digits_model


def float_boundaries(path):
    """QUANTIZE ops that read floats and DEQUANTIZE ops: where the int8 file leaves integers.
    (A QUANTIZE from int8 to int8 is a requantization, e.g. where a concatenation's inputs must
    share its scale; it stays integer.)"""
    interpreter = runtime.make_interpreter(path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    return [op["op_name"] for op in interpreter._get_ops_details()
            if op["op_name"] == "DEQUANTIZE" or (op["op_name"] == "QUANTIZE" and
                                                 tensors[op["inputs"][0]]["dtype"] == np.float32)]


def exported_depthwise_ops(model):
    """DEPTHWISE_CONV_2D operators the export of `model` should hold, counted from its Keras
    layers: one per depthwise conv, two per pair-grouped conv (direct and pair-swapped), one
    per tile of each mixed-kernel group."""
    count = sum(1 for layer in model.layers if type(layer) is keras.layers.DepthwiseConv2D)
    count += 2 * len(rewrite.find_blocks(model))
    for layer in model.layers:
        if isinstance(layer, MixedDepthwiseConv2D):
            count += sum(len(kernel_tiles(k, k)) for k in layer.branch_kernel_sizes)
    return count


def test_digits_spec_has_grouped_mux_blocks_and_a_7x7_group():
    blocks = [args for _, args, _ in DIGITS.blocks()]
    assert sum(args.block_type == "mux" and args.scales is None for args in blocks) == 3
    assert not any(args.scales for args in blocks)  # no spatial multiplexing (none in the variants)
    assert any(len(args.kernel_sizes) > 1 and max(args.kernel_sizes) >= 7 for args in blocks)


@pytest.mark.slow
def test_int8_agrees_with_float_on_held_out_digits(tmp_path):
    (x_train, y_train), (x_test, y_test) = load_digits(size=32)
    model = train_digits_model(x_train, y_train)
    assert len(rewrite.find_blocks(model)) == 3  # every mux block trained its grouped conv
    assert [layer.name for layer in rewrite.find_large_kernels(model)] == ["block3a_dwconv"]

    path = to_tflite(model, tmp_path / "digits.tflite", quantize="int8",
                     representative_data=x_train[:200], int8_io=True)
    ops = op_counts(path)
    assert xnnpack_slow_ops(path) == []  # no grouped CONV_2D, no 7x7 depthwise left
    # 1 (ds) + 1 (block2a) + 2 (block2b) + 1 + 1 + 3 (block3a: 3x3, 5x5, 7x7 in 3 row bands)
    # + 2 + 2 (block3b, block3c)
    assert ops["DEPTHWISE_CONV_2D"] == exported_depthwise_ops(model) == 13
    assert float_boundaries(path) == []  # integer from input to output
    exported = runtime.TFLiteModel(path)
    assert exported.input_dtype == np.int8

    result = compare(model, exported, x_test, y_test)
    print(result)
    assert result.keras_accuracy > 0.9, result  # the model did learn
    assert result.agreement >= 0.95, result
