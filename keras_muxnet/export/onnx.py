"""Export to ONNX through tf2onnx, checked by `onnx.checker` and for non-standard operators.

tf2onnx (1.17, TF 2.21) cannot see inside the XLA-compiled function that Keras 3 and tf_keras
wrap around a plain Keras grouped convolution: it leaves a `StatefulPartitionedCall` node that no
ONNX runtime can run. MUXNet's own `GroupedConv2D` avoids that, and the export-time rewrite
(`export.rewrite.for_inference`, the same one as for TFLite) replaces MUXNet's grouped
convolutions with depthwise ones anyway; any model whose graph still holds a TensorFlow function
call is refused with the node named.

Conversion time: tf2onnx's `from_graph_def` deep-copies the whole ONNX graph before each of its
optimizer passes (about 36 for MUXNet-m), so that a failing pass can be skipped; that is about
a fifth of the conversion time. `_tf2onnx` runs the same steps with one spare copy, taken up
only if a pass fails (then every pass runs again with tf2onnx's own per-pass safety net).
"""

import copy

import tensorflow as tf

from keras_muxnet._keras import require_tensorflow
from keras_muxnet._files import check_writable, write_bytes
from keras_muxnet.export import rewrite as rewrite_lib
from keras_muxnet.export.tflite import _input_spec

DEFAULT_OPSET = 17
TF_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


def _tf2onnx(graph_def, inputs, outputs, opset):
    """tf2onnx's `convert.from_graph_def` on a frozen graph, without its per-pass graph copies."""
    from tf2onnx import optimizer, tf_loader, tfonnx

    with tf.Graph().as_default():  # grappler's meta-graph export needs graph mode
        graph_def = tf_loader.tf_optimize(inputs, outputs, graph_def)
    with tf.Graph().as_default() as tf_graph:
        tf.import_graph_def(graph_def, name="")
        onnx_graph = tfonnx.process_tf_graph(tf_graph, continue_on_error=True, opset=opset,
                                             input_names=inputs, output_names=outputs)
        spare = copy.deepcopy(onnx_graph)
        try:
            optimized = optimizer.optimize_graph(onnx_graph, catch_errors=False)
        except Exception:  # noqa: BLE001 - a tf2onnx optimizer bug: skip that pass, as tf2onnx does
            optimized = None
        if optimized is None:
            optimized = optimizer.optimize_graph(spare, catch_errors=True)
        return optimized.make_model("converted from a frozen graph")


def _from_frozen_graph(model, spec, opset):
    """tf2onnx on the model's graph with every weight and captured constant frozen in."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    inputs = [t.name for t in frozen.inputs if t.dtype != tf.resource]
    outputs = [t.name for t in frozen.outputs]
    return _tf2onnx(frozen.graph.as_graph_def(), inputs, outputs, opset)


def convert(model, opset=DEFAULT_OPSET, rewrite=True):
    """The checked ONNX ModelProto of `model` (see `to_onnx`)."""
    require_tensorflow("ONNX export (tf2onnx)")
    import onnx

    if not isinstance(opset, int) or opset < 13:
        raise ValueError(f"opset must be an integer >= 13, got {opset!r}")
    spec = _input_spec(model)
    if rewrite:
        model, _ = rewrite_lib.for_inference(model, tile_large_kernels=False)
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
    onnxruntime. rewrite=False skips the export-time rewrite (`export.rewrite.for_inference`:
    depthwise instead of grouped convolutions, the input normalization folded into the stem,
    large depthwise kernels as <=25-tap tiles); the rewritten model runs faster in onnxruntime.
    """
    check_writable(path)
    proto = convert(model, opset, rewrite)
    return write_bytes(path, proto.SerializeToString())
