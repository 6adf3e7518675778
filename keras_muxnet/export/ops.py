"""Which operators a .tflite file uses, read from its flatbuffer (no interpreter needed).

A model that needs TensorFlow ("Flex") kernels or other custom operators will not run on a plain
LiteRT runtime; `custom_ops` finds them and `check_builtin_only` turns them into a clear error.
"""

import collections
import os


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


def op_counts(model):
    """{operator name: number of uses} over all subgraphs; custom ops as 'CUSTOM:<name>'."""
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
    counts = collections.Counter()
    for s in range(flat.SubgraphsLength()):
        graph = flat.Subgraphs(s)
        for o in range(graph.OperatorsLength()):
            counts[codes[graph.Operators(o).OpcodeIndex()]] += 1
    return dict(counts)


def custom_ops(model):
    """Names of the custom (including Flex) operators a model uses; empty if builtins only."""
    return sorted(name[len("CUSTOM:"):] for name in op_counts(model) if name.startswith("CUSTOM:"))


def check_builtin_only(model):
    """Raise ValueError naming every non-builtin operator of the model."""
    custom = custom_ops(model)
    if custom:
        raise ValueError(f"the TFLite model uses non-builtin operators {custom}; "
                         f"a plain LiteRT runtime cannot run it")
