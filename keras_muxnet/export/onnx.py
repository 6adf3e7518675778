"""Export to ONNX through tf2onnx, checked by `onnx.checker` and for non-standard operators.

tf2onnx (1.17, TF 2.21) cannot see inside the XLA-compiled function that Keras 3 and tf_keras
wrap around a grouped convolution: it leaves a `StatefulPartitionedCall` node that no ONNX
runtime can run. The export-time rewrite (`export.rewrite.for_inference`) replaces MUXNet's
grouped convolutions with depthwise ones first, so the graph is plain ONNX; any model whose
graph still holds a TensorFlow function call is refused with the layer named.
"""

import tensorflow as tf

from keras_muxnet.export import files, rewrite as rewrite_lib
from keras_muxnet.export.tflite import _input_spec

DEFAULT_OPSET = 17
TF_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


def _from_frozen_graph(model, spec, opset):
    """tf2onnx on the model's graph with every weight and captured constant frozen in."""
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    inputs = [t.name for t in frozen.inputs if t.dtype != tf.resource]
    outputs = [t.name for t in frozen.outputs]
    proto, _ = tf2onnx.convert.from_graph_def(frozen.graph.as_graph_def(), input_names=inputs,
                                              output_names=outputs, opset=opset)
    return proto


def convert(model, opset=DEFAULT_OPSET, rewrite=True):
    """The checked ONNX ModelProto of `model` (see `to_onnx`)."""
    import onnx

    if not isinstance(opset, int) or opset < 13:
        raise ValueError(f"opset must be an integer >= 13, got {opset!r}")
    spec = _input_spec(model)
    if rewrite:
        model, _ = rewrite_lib.for_inference(model)
    proto = _from_frozen_graph(model, spec, opset)
    leftovers = [node.name for node in proto.graph.node if node.op_type in TF_CALL_OPS]
    if leftovers:
        raise ValueError(
            f"tf2onnx left TensorFlow function calls in the ONNX graph of {model.name} "
            f"({', '.join(leftovers[:5])}{' ...' if len(leftovers) > 5 else ''}); this happens to "
            f"grouped convolutions, which Keras compiles with XLA. Export with rewrite=True, or "
            f"replace the grouped convolution")
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(model, path, opset=DEFAULT_OPSET, rewrite=True):
    """Export `model` to an ONNX file at `path` (written once complete); returns the path.

    The graph passes `onnx.checker` and holds standard operators only; run it with
    onnxruntime. rewrite=False skips the grouped-convolution rewrite (and then fails on
    MUXNet's mux blocks, see the module docstring).
    """
    files.check_writable(path)
    proto = convert(model, opset, rewrite)
    return files.write_atomically(path, proto.SerializeToString())
