"""Which operators a .tflite file uses, read from its flatbuffer (no interpreter needed).

A model that needs TensorFlow ("Flex") kernels or other custom operators will not run on a plain
LiteRT runtime; `custom_ops` finds them and `check_builtin_only` turns them into a clear error.
"""

import collections
import os
import warnings

from keras_muxnet.layers.kernel_tiles import XNNPACK_MAX_DEPTHWISE_TAPS


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        from tensorflow.lite.python import schema_py_generated as schema
    return schema


def _load(model):
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with open(os.fspath(model), "rb") as handle:
        return handle.read()


def _operators(model):
    """(name, [input shapes]) of every operator of every subgraph, in order."""
    schema = _schema()
    flat = schema.Model.GetRootAsModel(_load(model), 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    codes = []
    for i in range(flat.OperatorCodesLength()):
        code = flat.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append("CUSTOM:" + code.CustomCode().decode())
        else:
            codes.append(names.get(builtin, f"BUILTIN_{builtin}"))
    for s in range(flat.SubgraphsLength()):
        graph = flat.Subgraphs(s)
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            shapes = [tuple(graph.Tensors(i).ShapeAsNumpy().tolist()) if i >= 0 else None
                      for i in op.InputsAsNumpy().tolist()]
            yield codes[op.OpcodeIndex()], shapes


def op_counts(model):
    """{operator name: number of uses} over all subgraphs; custom ops as 'CUSTOM:<name>'."""
    return dict(collections.Counter(name for name, _ in _operators(model)))


def xnnpack_slow_ops(model):
    """Operators TFLite's XNNPACK backend runs slowly or not at all, one description each.

    Found by measurement on this project's machine: a depthwise kernel of more than 25 taps
    (a generic per-channel GEMM, 15-40x slower per tap), a grouped CONV_2D (one small GEMM per
    group), SPLIT_V (not delegated: it cuts the graph and copies on a reference kernel). An
    exported MUXNet has none of them (`for_inference` rewrites them away).
    """
    slow = []
    for name, shapes in _operators(model):
        if name == "DEPTHWISE_CONV_2D" and len(shapes) > 1 and shapes[1] and len(shapes[1]) == 4:
            taps = shapes[1][1] * shapes[1][2]  # filter (1, kh, kw, C)
            if taps > XNNPACK_MAX_DEPTHWISE_TAPS:
                slow.append(f"DEPTHWISE_CONV_2D with a {shapes[1][1]}x{shapes[1][2]} kernel")
        elif name == "CONV_2D" and shapes[0] and shapes[1] and shapes[0][-1] != shapes[1][-1]:
            slow.append(f"grouped CONV_2D ({shapes[1][-1]} of {shapes[0][-1]} channels per group)")
        elif name == "SPLIT_V":
            slow.append("SPLIT_V")
    return slow


def custom_ops(model):
    """Names of the custom (including Flex) operators a model uses; empty if builtins only."""
    return sorted(name[len("CUSTOM:"):] for name in op_counts(model) if name.startswith("CUSTOM:"))


def check_builtin_only(model):
    """Raise ValueError naming every non-builtin operator of the model."""
    custom = custom_ops(model)
    if custom:
        raise ValueError(f"the TFLite model uses non-builtin operators {custom}; "
                         f"a plain LiteRT runtime cannot run it")


class SlowOpsWarning(UserWarning):
    """An exported model holds operators XNNPACK runs on a slow path."""


def warn_if_slow(model):
    """Warn (SlowOpsWarning) naming the operators `xnnpack_slow_ops` finds, if any.

    The export rewrite removes them from the builders' models; they remain in models it cannot
    see into, e.g. tfmot's quantization-aware wrappers around the grouped conv and large kernels.
    """
    slow = xnnpack_slow_ops(model)
    if slow:
        counts = collections.Counter(slow)
        listed = ", ".join(f"{n} x {name}" for name, n in counts.items())
        warnings.warn(f"XNNPACK will run part of this model on slow paths: {listed}",
                      SlowOpsWarning, stacklevel=4)  # the caller of to_tflite
