"""ONNX export: a valid graph of standard operators that onnxruntime runs like Keras."""

import logging
import os

import numpy as np
import pytest

from keras_muxnet.architectures import SPECS
from keras_muxnet.export import rewrite
from keras_muxnet.export.onnx import TF_CALL_OPS, to_onnx
from keras_muxnet.models import MUXNet
from muxnet_tiny import images, randomize_batchnorm, tiny_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


@pytest.mark.slow
def test_onnx_matches_keras_and_holds_only_standard_ops(tiny, tmp_path):
    import onnx
    import onnxruntime

    path = to_onnx(tiny, tmp_path / "tiny.onnx")
    graph = onnx.load(path).graph
    op_types = {node.op_type for node in graph.node}
    assert not op_types & set(TF_CALL_OPS), op_types
    assert {"Conv", "Add"} <= op_types and all(not n.domain or n.domain == "ai.onnx" for n in graph.node)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = images(3)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, tiny.predict(x, verbose=0), atol=1e-4, rtol=0)


def _run(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.slow
def test_grouped_conv_exports_without_the_rewrite(tiny, tmp_path):
    """Keras 3 wraps a grouped Conv2D in an XLA-compiled function that tf2onnx 1.17 leaves as a
    StatefulPartitionedCall node; our GroupedConv2D runs TensorFlow's own kernel instead.
    to_onnx refuses any leftover call node, so this fails if the problem comes back."""
    assert any(type(layer).__name__ == "GroupedConv2D" for layer in tiny.layers)
    path = to_onnx(tiny, tmp_path / "tiny.onnx", rewrite=False)
    x = images(2)
    np.testing.assert_allclose(_run(path, x), tiny.predict(x, verbose=0), atol=1e-4, rtol=0)


def test_keras_grouped_conv_leaves_a_call_node_that_is_refused(tmp_path):
    """The upstream problem itself, on a plain Keras grouped Conv2D (Keras 3 only)."""
    from keras_muxnet._keras import LEGACY_KERAS, keras

    if LEGACY_KERAS:
        pytest.skip("tf_keras does not jit-compile grouped convolutions")
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, groups=2, padding="same")(inputs))
    with pytest.raises(ValueError, match="StatefulPartitionedCall"):
        to_onnx(model, tmp_path / "plain.onnx", rewrite=False)
    assert not os.listdir(tmp_path)


def test_a_failing_tf2onnx_pass_is_skipped_as_tf2onnx_itself_would(tmp_path, caplog):
    """to_onnx runs tf2onnx's optimizer passes without a graph copy per pass (a fifth of the
    conversion time); when one fails, it starts over from its one spare copy with tf2onnx's
    per-pass safety net. tf2onnx 1.17's transpose pass fails on an Add of a scalar constant
    after a convolution (MobileNetV3's hard sigmoid has one)."""
    from keras_muxnet._keras import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Rescaling(2.0, offset=3.0)(keras.layers.Conv2D(4, 3, padding="same")(inputs))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 1)(x))
    with caplog.at_level(logging.WARNING, logger="tf2onnx"):
        path = to_onnx(model, tmp_path / "scalar_add.onnx", rewrite=False)
    assert "Failed to apply optimize_transpose" in caplog.text, \
        "tf2onnx no longer fails here: trigger the fallback with another known failure"
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(path, x), model.predict(x, verbose=0), atol=1e-5, rtol=0)


def test_bad_opset(tiny, tmp_path):
    with pytest.raises(ValueError, match="opset"):
        to_onnx(tiny, tmp_path / "x.onnx", opset="latest")


# -- released variants -------------------------------------------------------------------------
SIZE = 64  # the operators of 224x224 in a fraction of the time


def export_features(spec):
    """What decides a block's ONNX operators: kind, stride, each kxk kernel (depthwise or grouped),
    spatial scales, activation, squeeze-excitation. Widths and repeats do not."""
    features = set()
    for _, args, _ in spec.blocks():
        conv = "grouped" if args.block_type == "mux" else "depthwise"
        features |= {("block", args.block_type, args.strides), ("activation", args.activation),
                     ("scales", args.scales), ("se", args.se_ratio > 0)}
        features |= {(conv, k, args.strides) for k in args.kernel_sizes}
    return features


def variants_to_export():
    """MUXNet-m, plus any released variant with an export feature MUXNet-m lacks (in SPECS order):
    together they cover every block of every variant, at the cost of converting one model."""
    chosen, covered = ["muxnet_m"], export_features(SPECS["muxnet_m"])
    for name, spec in SPECS.items():
        if not export_features(spec) <= covered:
            chosen.append(name)
            covered |= export_features(spec)
    return chosen


def test_the_exported_variants_cover_every_variant():
    covered = set().union(*(export_features(SPECS[name]) for name in variants_to_export()))
    for spec in SPECS.values():
        assert export_features(spec) <= covered, spec.name
    assert ("depthwise", 11, 2) in covered and ("grouped", 5, 1) in covered


@pytest.mark.slow
@pytest.mark.parametrize("variant", variants_to_export())
def test_released_variant_matches_keras(variant, tmp_path):
    """The export rewrite (depthwise pair swaps, folded stem, folded channel shuffles; large
    kernels stay whole, onnxruntime runs them well) reaches ONNX intact, and onnxruntime computes
    what Keras does."""
    import onnx

    model = randomize_batchnorm(MUXNet(variant, weights=None, input_shape=(SIZE, SIZE, 3),
                                       classifier_activation=None))
    assert rewrite.find_large_kernels(model) and rewrite.find_blocks(model)
    path = to_onnx(model, tmp_path / f"{variant}.onnx")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    convs = [node for node in proto.graph.node if node.op_type == "Conv"]
    depthwise_taps = [np.prod(onnx.helper.get_attribute_value(a))
                      for node in convs for a in node.attribute if a.name == "kernel_shape"
                      and any(b.name == "group" and b.i > 1 for b in node.attribute)]
    assert depthwise_taps and max(depthwise_taps) == 121  # the 11x11 group, not tiled
    assert not {node.op_type for node in proto.graph.node} & set(TF_CALL_OPS)
    x = images(2, SIZE)
    np.testing.assert_allclose(_run(path, x), model.predict(x, verbose=0), atol=1e-4, rtol=0)
