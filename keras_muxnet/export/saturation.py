"""Int8 ranges narrowed to what a saturating consumer can tell apart.

The calibrator gives every activation the range its values reach (`export.calibration`). When a
tensor's only reader is a sigmoid, most of that range is wasted: TFLite's int8 LOGISTIC writes
its output with the fixed step 1/256 (zero point -128), so every input beyond
+-ln(511) ~ +-6.24 lands on the first or last output code. A squeeze-and-excitation gate's
logits span +-150 in the digit-scenes detector's stride-32 blocks: an int8 step of ~1.3, which
moves a gate near 0.5 by 0.3. Clipped to +-`GATE_BOUND` the step is 0.06, and no output code the
wider range could reach is lost. Measured there (issue 11; Keras mAP@0.5 0.537, three sets of 200
calibration scenes): int8 mAP@0.5 0.507 / 0.516 / 0.470 with min/max ranges, 0.524 / 0.520 / 0.476
with the gates clipped.

`narrowed(model, ranges)` applies the rule to a calibrated flatbuffer's object model and its
{tensor index: (min, max)}; `calibration.convert_int8(..., narrow_saturated=True)` uses it.
"""

from tensorflow.lite.python import schema_py_generated as schema

GATE_BOUND = 8.0  # > ln(511): beyond it int8 LOGISTIC's output code no longer changes


def _opcode(model, operator):
    code = model.operatorCodes[operator.opcodeIndex]
    # Builtin codes past 127 live only in builtinCode; older files only in the deprecated field.
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def _readers(subgraph):
    """{tensor index: [operators reading it]} of one subgraph."""
    readers = {}
    for operator in subgraph.operators:
        for index in operator.inputs:
            readers.setdefault(int(index), []).append(operator)
    return readers


def gate_inputs(model):
    """Indices of the main subgraph's tensors read by LOGISTIC operators only (and not a model
    output): the tensors whose range `narrowed` clips."""
    subgraph = model.subgraphs[0]
    outputs = {int(index) for index in subgraph.outputs}
    return sorted(index for index, operators in _readers(subgraph).items()
                  if index not in outputs
                  and all(_opcode(model, op) == schema.BuiltinOperator.LOGISTIC for op in operators))


def narrowed(model, ranges, bound=GATE_BOUND):
    """(ranges, indices changed): `ranges` ({tensor index: (min, max)} of the main subgraph of
    the calibrated object `model`) with every sigmoid-only input clipped to [-bound, bound]."""
    if not bound > 6.25:
        raise ValueError(f"bound must exceed ln(511) ~ 6.24 (int8 LOGISTIC saturates there), "
                         f"got {bound}")
    result, changed = dict(ranges), []
    for index in gate_inputs(model):
        if index not in ranges:
            continue
        low, high = ranges[index]
        clipped = (min(max(low, -bound), bound), max(min(high, bound), -bound))
        if clipped != (low, high):
            result[index] = clipped
            changed.append(index)
    return result, changed
