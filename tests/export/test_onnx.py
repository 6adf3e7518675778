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


@pytest.mark.slow
def test_grouped_conv_without_rewrite_is_refused(tiny, tmp_path):
    # tf2onnx 1.17 leaves Keras' XLA-compiled grouped conv as a StatefulPartitionedCall node.
    # If this starts passing, tf2onnx learned to inline it and the rewrite is no longer needed
    # for ONNX.
    with pytest.raises(ValueError, match="StatefulPartitionedCall.*grouped"):
        to_onnx(tiny, tmp_path / "tiny.onnx", rewrite=False)
    assert not os.listdir(tmp_path)


def test_bad_opset(tiny, tmp_path):
    with pytest.raises(ValueError, match="opset"):
        to_onnx(tiny, tmp_path / "x.onnx", opset="latest")
