"""ONNX export: a valid graph of standard operators that onnxruntime runs like Keras."""

import os

import numpy as np
import pytest

from keras_muxnet.export.onnx import TF_CALL_OPS, to_onnx
from muxnet_tiny import images, tiny_model


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


def test_bad_opset(tiny, tmp_path):
    with pytest.raises(ValueError, match="opset"):
        to_onnx(tiny, tmp_path / "x.onnx", opset="latest")
