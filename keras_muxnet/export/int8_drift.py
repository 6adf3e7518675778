"""Where an int8 TFLite file leaves its float Keras model: the error of every int8 tensor, layer
by layer in execution order, in units of that tensor's own int8 step (its scale).

A full-integer file rounds every tensor to its scale; a tensor that is right to within half a
step or one step is as good as int8 gets there. Errors that grow from layer to layer, or jump at
one layer, show where the quantization (not the rounding) loses the model: a range too wide or
too narrow, a requantization, a kernel rounded badly. The interpreter keeps every intermediate
tensor (`experimental_preserve_all_tensors`, TFLite's reference kernels), and each one is matched
to the Keras layer whose name its operator carries (the converter names an operator's output
after the TensorFlow op it came from, "<model>/<layer>/<op>"; fused operators list the last
op first). `model` must be the Keras model the file was converted from, after any rewrite
(`export.for_inference(model)[0]` for a `to_tflite` file): its layer names are the file's.
"""

import dataclasses
import re

import numpy as np

from keras_muxnet._keras import keras
from keras_muxnet.export import runtime
from keras_muxnet.export.graph import inputs_of, producer


@dataclasses.dataclass
class TensorDrift:
    """One layer's output: float (Keras) against the int8 file's tensor, dequantized."""

    layer: str
    op: str                # the TFLite operator that wrote the tensor
    scale: float           # the tensor's int8 step
    float_range: tuple     # (min, max) of the Keras values
    int8_range: tuple      # (min, max) that the tensor's scale and zero point can hold
    mean_steps: float      # mean |int8 - float| / scale
    max_steps: float       # largest |int8 - float| / scale
    clipped: float         # share of the Keras values outside int8_range


def _layers_by_name(model):
    """{name: layer} of `model`'s layers, a nested model's layers too (they keep their names)."""
    by_name = {}
    for layer in model.layers:
        by_name[layer.name] = layer
        if isinstance(layer, keras.Model):
            by_name.update({inner.name: inner for inner in layer.layers})
    return by_name


def _layer_names(model):
    """Names of the layers with one output (a split's several outputs match no one tensor)."""
    return {name for name, layer in _layers_by_name(model).items()
            if not isinstance(layer.output, (list, tuple))}


def _layer_of(tensor_name, names):
    """The layer named in a tensor name ("model/layer_1/op;..."), or None."""
    head = tensor_name.split(";", 1)[0]
    for part in reversed(head.split("/")[:-1]):
        if part in names:
            return part
        stripped = re.sub(r"_\d+$", "", part)  # Keras 3 suffixes name scopes with _1
        if stripped in names:
            return stripped
    return None


def int8_outputs(flatbuffer, model):
    """[(layer name, op name, tensor detail)]: for each layer of `model` whose output the
    file holds as an int8 tensor, the last operator (in execution order) writing one."""
    interpreter = runtime.make_interpreter(flatbuffer, preserve_all_tensors=True)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    names = _layer_names(model)
    # The converter renames a model's output tensor ("Identity", "Identity1" before its
    # DEQUANTIZE): a single output is the output layer's
    ops = interpreter._get_ops_details()
    outputs = {}
    if len(model.outputs) == 1 and len(interpreter.get_output_details()) == 1:
        index = interpreter.get_output_details()[0]["index"]
        outputs[index] = model.outputs[0]._keras_history[0].name
        for op in ops:
            if op["op_name"] == "DEQUANTIZE" and list(op["outputs"]) == [index]:
                outputs[op["inputs"][0]] = outputs[index]
    found = {}
    for op in ops:
        for index in op["outputs"]:
            detail = tensors.get(index)
            if detail is None or detail["dtype"] != np.int8 or not detail["quantization"][0]:
                continue
            layer = outputs.get(index) or _layer_of(detail["name"], names)
            if layer is not None:
                found.pop(layer, None)  # keep the last writer, in execution order
                found[layer] = (layer, op["op_name"], detail)
    return interpreter, list(found.values())


def _keras_outputs(model, layers_):
    """A model from `model`'s input to the outputs of `layers_` (names, nested models too)."""
    by_name = _layers_by_name(model)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, [by_name[name].output for name in layers_])


def tensor_drift(model, flatbuffer, images):
    """[TensorDrift] for every layer output of `model` the int8 file `flatbuffer` holds, in
    execution order, over `images` (as the model takes them), one image at a time."""
    images = np.asarray(images, np.float32)
    interpreter, matched = int8_outputs(flatbuffer, model)
    if not matched:
        raise ValueError("no int8 tensor of the file is named after a layer of the model: give "
                         "the Keras model the file was converted from (after its rewrite)")
    input_detail = interpreter.get_input_details()[0]
    shape = tuple(int(d) for d in input_detail["shape"][1:])
    if images.ndim != 4 or images.shape[1:] != shape:
        raise ValueError(f"images must be (N, {', '.join(map(str, shape))}), got {images.shape}")
    probe = _keras_outputs(model, [layer for layer, _, _ in matched])
    errors = [[] for _ in matched]
    floats = [[] for _ in matched]
    for image in images:
        reference = probe(image[None], training=False)
        reference = reference if isinstance(reference, (list, tuple)) else [reference]
        interpreter.set_tensor(input_detail["index"], runtime.as_input(image[None], input_detail))
        interpreter.invoke()
        for i, ((_, _, detail), value) in enumerate(zip(matched, reference)):
            value = np.asarray(value, np.float32)
            got = interpreter.get_tensor(detail["index"])
            if got.shape != value.shape:
                continue  # the operator computes something else under the layer's name
            errors[i].append((runtime.dequantize(got, detail) - value).ravel())
            floats[i].append(value.ravel())
    drifts = []
    for (layer, op, detail), error, value in zip(matched, errors, floats):
        if not error:
            continue
        scale, zero_point = detail["quantization"]
        error, value = np.abs(np.concatenate(error)) / scale, np.concatenate(value)
        low, high = (-128 - zero_point) * scale, (127 - zero_point) * scale
        drifts.append(TensorDrift(
            layer=layer, op=op, scale=float(scale),
            float_range=(float(value.min()), float(value.max())),
            int8_range=(float(low), float(high)), mean_steps=float(error.mean()),
            max_steps=float(error.max()),
            clipped=float(np.mean((value < low - scale / 2) | (value > high + scale / 2)))))
    return drifts


@dataclasses.dataclass
class LocalDrift:
    """One layer run on the int8 file's own inputs, against the file's output for it."""

    layer: str
    op: str
    flipped: float     # share of output values more than half a step from the file's
    max_steps: float   # largest |Keras - int8| / scale
    bias_steps: float  # mean (int8 - Keras) / scale: about 0 where both round to nearest


def local_drift(model, flatbuffer, images):
    """[LocalDrift] for every layer of `model` whose output and inputs the int8 file holds:
    the layer run on the file's own int8 inputs (dequantized) against the file's int8 output.

    `tensor_drift` shows the error that has built up by each layer; this isolates what each
    one operator does differently from its Keras layer. For a quantization-aware model (whose
    layers fake-quantize their outputs) a share of a few tenths of a percent is rounding (an
    int32 bias, ties); a larger share marks an operator the fake quantization does not
    simulate. The interpreter runs TFLite's reference kernels, not XNNPACK's, and they can
    round otherwise: on a QAT MUXNet-xs the reference MEAN was a step off the fake quantization
    on 9-40% of its outputs; in a one-layer check XNNPACK's MEAN rounded to nearest exactly
    where the reference one was a step higher on 58% of them.
    """
    images = np.asarray(images, np.float32)
    interpreter, matched = int8_outputs(flatbuffer, model)
    held = {layer: detail for layer, _, detail in matched}
    by_name = {layer.name: layer for layer in model.layers}
    checked = []
    for name, op, detail in matched:
        layer = by_name.get(name)
        sources = [producer(t).name for t in inputs_of(layer)] if layer is not None else []
        if sources and all(source in held for source in sources):
            checked.append((layer, op, detail, sources))
    input_detail = interpreter.get_input_details()[0]
    flips = {layer.name: [] for layer, _, _, _ in checked}
    for image in images:
        interpreter.set_tensor(input_detail["index"], runtime.as_input(image[None], input_detail))
        interpreter.invoke()
        values = {name: runtime.dequantize(interpreter.get_tensor(detail["index"]), detail)
                  for name, detail in held.items()}
        for layer, _, detail, sources in checked:
            args = [values[source] for source in sources]
            try:
                got = np.asarray(layer(args if len(args) > 1 else args[0], training=False))
            except (ValueError, TypeError):  # the file's tensor is not the layer's input
                continue
            if got.shape == values[layer.name].shape:
                flips[layer.name].append((values[layer.name] - got).ravel()
                                         / detail["quantization"][0])
    found = []
    for layer, op, _, _ in checked:
        if flips[layer.name]:
            signed = np.concatenate(flips[layer.name])
            found.append(LocalDrift(layer=layer.name, op=op,
                                    flipped=float(np.mean(np.abs(signed) > 0.5)),
                                    max_steps=float(np.abs(signed).max()),
                                    bias_steps=float(signed.mean())))
    return found


def format_local_drift(drifts):
    """One line per layer: the share of its values off by a step or more, the largest, the
    mean signed error (steps)."""
    width = max([5] + [len(d.layer) for d in drifts])
    lines = [f"{'layer':{width}s} {'operator':18s} {'flipped':>8s} {'max':>6s} {'bias':>6s}"]
    lines += [f"{d.layer:{width}s} {d.op[:18]:18s} {d.flipped:8.3%} {d.max_steps:6.1f} "
              f"{d.bias_steps:6.2f}" for d in drifts]
    return "\n".join(lines)


def format_drift(drifts):
    """One line per layer: the error in int8 steps (mean, max), ranges, share clipped."""
    width = max([5] + [len(d.layer) for d in drifts])
    lines = [f"{'layer':{width}s} {'operator':18s} {'mean':>6s} {'max':>7s} {'scale':>9s} "
             f"{'float range':>19s} {'int8 range':>19s} {'clipped':>7s}"]
    for d in drifts:
        lines.append(f"{d.layer:{width}s} {d.op[:18]:18s} {d.mean_steps:6.2f} {d.max_steps:7.1f} "
                     f"{d.scale:9.3g} {d.float_range[0]:9.3g},{d.float_range[1]:9.3g} "
                     f"{d.int8_range[0]:9.3g},{d.int8_range[1]:9.3g} {d.clipped:7.2%}")
    return "\n".join(lines)
