"""The form of a MUXNet that quantization-aware training annotates: the export's fast form,
with every operator the int8 file will hold as a Keras layer of its own.

An int8 TFLite file follows its QAT model only where each of its quantized tensors was
fake-quantized in training with the same range. So QAT starts from `export.for_inference`
(pair-grouped convolutions as depthwise pairs in the [evens, odds] channel order with their
BatchNorm folded in, channel shuffles folded into the layers around them: the operators the PTQ
int8 file has, none that XNNPACK runs slowly), and then splits its pair-swap layer into what the
converter makes of it, built-in layers that tfmot quantizes as the converter does:

    DepthwiseConv2D(x) + DepthwiseConv2D(SwapHalves(x))   (Add)

and its mixed-kernel depthwise convolutions (plain branches) into a channel slice per branch and
one built-in DepthwiseConv2D per <= 25-tap tile of the branch's kernel, the BatchNorm behind
folded into them:

    Concatenate([sum over tiles of DepthwiseConv2D(Cropping2D(ZeroPadding2D(x[..., branch])))])

Each tile has a kernel variable of its own, so the int8 file holds it as a constant; sliced out
of one fake-quantized 11x11 kernel, two tiles stayed a runtime RESHAPE that cut the XNNPACK graph
in two. And the int8 kernels are the ones QAT fake-quantized: left as one layer, its BatchNorm
got folded in by the converter after the kernels' int8 range was fixed.

Swish and sigmoid become what TFLite computes in int8: an Activation("sigmoid") of its own
(LOGISTIC, whose int8 output has the fixed scale 1/256) and, for swish, a Multiply by the input
(MUL). A convolution with a swish or sigmoid activation (the squeeze-excitation 1x1 convs)
gives it up to the same layers. So each int8 tensor of those ops is one QAT fake-quantizes;
before, the sigmoid's output and the pre-activation output of a 1x1 conv were quantized in the
int8 file only, from its calibration.

Every other BatchNorm right after a built-in convolution is folded into it too, as the converter
would fold it after quantization: QAT then fake-quantizes the kernel the int8 file holds
(tfmot's own conv + BatchNorm patterns quantize the kernel before the BatchNorm scales it).
A ReLU (or ReLU6) right after such a convolution becomes the convolution's activation, as the
int8 file fuses it: tfmot's LayerReLUQuantize transforms give a Conv2D or DepthwiseConv2D that
a separate ReLU layer reads a no-op QuantizeConfig (meant to drop the fake quantization between
the two, it drops the kernel's too), so its kernel trained float and was rounded by the
converter only.

One part of the rewrite stays out: the input normalization folded into the stem (its kernel,
scaled by 1 / std, trains badly at the optimizer's step size, and its constant image would be
one more quantized tensor); `quantize_aware` makes the normalization a frozen 1x1 depthwise
conv instead. What trains changes in one way: folded BatchNorms no longer update their
statistics (they act as at inference), as a QAT fine-tune of a trained model wants.
"""

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras, register
from keras_muxnet.export.channel_order import GatherSplit
from keras_muxnet.export.graph import Graph, inputs_of, is_kind, is_linear, producer
from keras_muxnet.export.rewrite import PairSwapDepthwiseConv2D, bn_affine, for_inference
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D, symmetric_padding
from keras_muxnet.layers.kernel_tiles import XNNPACK_MAX_DEPTHWISE_TAPS, kernel_tiles

layers = keras.layers


@register
class SwapHalves(layers.Layer):
    """The two halves of the channels trade places (the pair swap in [evens, odds] order)."""

    def call(self, inputs):
        half = inputs.shape[-1] // 2
        return tf.concat([inputs[..., half:], inputs[..., :half]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


def _splits_into_builtins(layer):
    return (isinstance(layer, PairSwapDepthwiseConv2D)
            and layer.kernel_size ** 2 <= XNNPACK_MAX_DEPTHWISE_TAPS)


def _pair_swap_as_builtins(layer, x):
    """(output, {new layer name: weights}) of a PairSwapDepthwiseConv2D as built-in layers."""
    k = layer.kernel_size
    direct = layers.DepthwiseConv2D(k, padding="same", use_bias=True, name=layer.name)
    crossed = layers.DepthwiseConv2D(k, padding="same", use_bias=False,
                                     name=f"{layer.name}_swapped")
    swapped = SwapHalves(name=f"{layer.name}_swap")(x)
    output = layers.Add(name=f"{layer.name}_add")([direct(x), crossed(swapped)])
    kernel, swapped_kernel, bias = [np.asarray(w) for w in layer.get_weights()]
    return output, {direct.name: [kernel, bias], crossed.name: [swapped_kernel]}


def _gate_kind(activation):
    """"swish", "sigmoid" or None for an activation function."""
    for name, kind in (("swish", "swish"), ("silu", "swish"), ("sigmoid", "sigmoid")):
        if activation is not None and activation is getattr(keras.activations, name, None):
            return kind
    return None


def _fused_gate(layer):
    """"swish" / "sigmoid" for a Conv2D, DepthwiseConv2D or Dense with that activation."""
    return (_gate_kind(layer.activation)
            if type(layer) in (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense) else None)


def _swish_or_sigmoid(layer):
    """"swish" / "sigmoid" for an Activation layer of that function."""
    return _gate_kind(layer.activation) if type(layer) is layers.Activation else None


def _gate_as_builtins(kind, x, name):
    """sigmoid(x) or x * sigmoid(x) as an Activation("sigmoid") [and a Multiply named `name`]."""
    if kind == "sigmoid":
        return layers.Activation("sigmoid", name=name)(x)
    gate = layers.Activation("sigmoid", name=f"{name}_sigmoid")(x)
    return layers.Multiply(name=name)([x, gate])


def _mixed_as_builtins(layer):
    """Whether `layer` is a mixed-kernel depthwise conv that built-in DepthwiseConv2D layers
    compute: plain branches (no pixel shuffle), odd kernels, a static input size."""
    return (isinstance(layer, BranchedDepthwiseConv2D) and set(layer.branch_scales) == {0}
            and all(k % 2 for k in layer.branch_kernel_sizes)
            and None not in tuple(layer.input.shape[1:]))


def _tile_windows(kernel_size, strides, pad, height, width):
    """[((row0, row1, col0, col1), ((top, bottom), (left, right)))]: the <= 25-tap tiles of a
    kernel that see data and the cropping of the padded input each one convolves (VALID)."""
    out_h = (height + 2 * pad - kernel_size) // strides + 1
    out_w = (width + 2 * pad - kernel_size) // strides + 1
    found = []
    for r0, r1, c0, c1 in kernel_tiles(kernel_size, kernel_size, XNNPACK_MAX_DEPTHWISE_TAPS):
        rows = range(r0, r0 + (out_h - 1) * strides + r1 - r0)
        cols = range(c0, c0 + (out_w - 1) * strides + c1 - c0)
        if not (any(pad <= r < pad + height for r in rows)
                and any(pad <= c < pad + width for c in cols)):
            continue  # only ever sees the zero padding: adds exact zeros
        # Cut off what the tile's VALID convolution would not skip by itself (its stride does
        # skip up to strides - 1 rows at the end): no slice op where none is needed
        crop = ((r0, max(0, height + 2 * pad - rows.stop - strides + 1)),
                (c0, max(0, width + 2 * pad - cols.stop - strides + 1)))
        found.append(((r0, r1, c0, c1), crop))
    return found


def _branches_as_builtins(layer, x, bn):
    """(output, {new layer name: weights}) of a mixed-kernel depthwise conv, with `bn` (or
    None) folded in, as built-in layers: see the module docstring."""
    channels, (height, width) = x.shape[-1], tuple(int(d) for d in x.shape[1:3])
    scale, shift = bn_affine(bn) if bn is not None else (np.ones(channels), np.zeros(channels))
    bounds = np.cumsum([0, *layer.splits])
    parts = [x] if len(layer.splits) == 1 else GatherSplit(
        [[(int(a), int(b))] for a, b in zip(bounds[:-1], bounds[1:])],
        name=f"{layer.name}_split")(x)
    outputs, weights = [], {}
    for i, (part, kernel) in enumerate(zip(parts, layer.get_weights())):
        a, b = bounds[i], bounds[i + 1]
        k, name = layer.branch_kernel_sizes[i], f"{layer.name}_{i}"
        kernel = np.asarray(kernel) * scale[a:b].reshape(1, 1, -1, 1)
        pad = symmetric_padding(k, layer.strides)
        padded = layers.ZeroPadding2D(pad, name=f"{name}_pad")(part) if pad else part
        tiles = []
        for j, ((r0, r1, c0, c1), crop) in enumerate(
                _tile_windows(k, layer.strides, pad, height, width)):
            tile = f"{name}_tile{j}" if (r1 - r0, c1 - c0) != (k, k) else name
            window = (layers.Cropping2D(crop, name=f"{tile}_window")(padded)
                      if any(sum(c) for c in crop) else padded)
            conv = layers.DepthwiseConv2D((r1 - r0, c1 - c0), layer.strides, padding="valid",
                                          use_bias=not tiles, name=tile)
            tiles.append(conv(window))
            weights[tile] = [kernel[r0:r1, c0:c1].astype(np.float32)] + (
                [shift[a:b].astype(np.float32)] if len(tiles) == 1 else [])
        outputs.append(tiles[0] if len(tiles) == 1 else
                       layers.Add(name=f"{name}_tiles")(tiles))
    output = outputs[0] if len(outputs) == 1 else layers.Concatenate(name=f"{layer.name}_concat")(
        outputs)
    return output, weights


def _foldable_batchnorms(model):
    """{id(conv): its BatchNorm} for every BatchNorm right after a built-in Conv2D or
    DepthwiseConv2D (linear) or a mixed-kernel conv that becomes built-in ones, read by the
    BatchNorm only."""
    graph, found = Graph(model), {}
    for layer in model.layers:
        if not is_kind(layer, layers.BatchNormalization) or len(inputs_of(layer)) != 1:
            continue
        conv = producer(inputs_of(layer)[0])
        builtin = (type(conv) in (layers.Conv2D, layers.DepthwiseConv2D) and is_linear(conv)
                   and getattr(conv, "groups", 1) == 1)
        if (builtin or _mixed_as_builtins(conv)) and graph.after(conv) == [layer]:
            found[id(conv)] = layer
    return found


def _relu_kind(layer):
    """"relu" / "relu6" for an Activation or ReLU layer computing that, else None."""
    if type(layer) is layers.Activation:
        if layer.activation is keras.activations.relu:
            return "relu"
        return "relu6" if layer.activation is getattr(keras.activations, "relu6", None) else None
    if type(layer) is layers.ReLU and not layer.negative_slope and not layer.threshold:
        return {None: "relu", 6.0: "relu6"}.get(
            None if layer.max_value is None else float(layer.max_value))
    return None


def _foldable_relus(model, batchnorms):
    """{id(conv): (its ReLU layer, "relu" / "relu6")} for every ReLU that reads nothing but a
    built-in Conv2D or DepthwiseConv2D (linear; through its BatchNorm when that is folded)."""
    graph, found = Graph(model), {}
    by_id = {id(layer): layer for layer in model.layers}
    folded_into = {id(bn): by_id[conv_id] for conv_id, bn in batchnorms.items()}
    for layer in model.layers:
        kind = _relu_kind(layer)
        if kind is None or len(inputs_of(layer)) != 1:
            continue
        source = producer(inputs_of(layer)[0])
        conv = folded_into.get(id(source), source)
        if (type(conv) in (layers.Conv2D, layers.DepthwiseConv2D) and is_linear(conv)
                and getattr(conv, "groups", 1) == 1 and graph.after(source) == [layer]):
            found[id(conv)] = (layer, kind)
    return found


def _conv_with_batchnorm(conv, bn, activation=None):
    """(the conv with a bias, `bn` folded in and `activation`, its weights)."""
    scale, shift = bn_affine(bn)
    weights = [np.asarray(w) for w in conv.get_weights()]
    kernel = weights[0]
    kernel = (kernel * scale.reshape(1, 1, -1, 1) if type(conv) is layers.DepthwiseConv2D
              else kernel * scale)
    bias = (weights[1] * scale if conv.use_bias else 0.0) + shift
    folded = conv.__class__.from_config({**conv.get_config(), "use_bias": True,
                                         **({"activation": activation} if activation else {})})
    return folded, [kernel.astype(np.float32), bias.astype(np.float32)]


def qat_form(model):
    """A float copy of `model` in the form `quantize_aware` annotates (same outputs up to float
    rounding); see the module docstring."""
    fast, _ = for_inference(model, fold_stems=False)
    batchnorms = _foldable_batchnorms(fast)
    relus = _foldable_relus(fast, batchnorms)
    folded_away = {id(bn) for bn in batchnorms.values()} | {id(relu) for relu, _ in relus.values()}
    new = {}      # id(old symbolic tensor) -> new symbolic tensor
    weights = {}  # new layer name -> weights
    for old_input in fast.inputs:
        new[id(old_input)] = layers.Input(shape=old_input.shape[1:],
                                          name=old_input._keras_history[0].name)
    for layer in fast.layers:
        if isinstance(layer, layers.InputLayer):
            continue
        args = [new[id(t)] for t in inputs_of(layer)]
        args = args if isinstance(layer.input, (list, tuple)) else args[0]
        if id(layer) in folded_away:  # its conv computed it already
            new[id(layer.output)] = args
            continue
        if _splits_into_builtins(layer):
            output, made = _pair_swap_as_builtins(layer, args)
            weights.update(made)
        elif _mixed_as_builtins(layer):
            output, made = _branches_as_builtins(layer, args, batchnorms.get(id(layer)))
            weights.update(made)
        elif id(layer) in batchnorms:
            copy, weights[layer.name] = _conv_with_batchnorm(
                layer, batchnorms[id(layer)], relus.get(id(layer), (None, None))[1])
            output = copy(args)
        elif _swish_or_sigmoid(layer):
            output = _gate_as_builtins(_swish_or_sigmoid(layer), args, layer.name)
        elif _fused_gate(layer):
            copy = layer.__class__.from_config({**layer.get_config(), "activation": "linear"})
            output = _gate_as_builtins(_fused_gate(layer), copy(args), f"{layer.name}_{_fused_gate(layer)}")
            weights[copy.name] = layer.get_weights()
        else:
            config = layer.get_config()
            if id(layer) in relus:
                config["activation"] = relus[id(layer)][1]
            copy = layer.__class__.from_config(config)
            output = copy(args)
            weights[copy.name] = layer.get_weights()
        olds = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        news = output if isinstance(output, (list, tuple)) else [output]
        for old, made in zip(olds, news, strict=True):
            new[id(old)] = made
    copy = keras.Model([new[id(t)] for t in fast.inputs], [new[id(t)] for t in fast.outputs],
                       name=fast.name)
    for layer in copy.layers:
        if weights.get(layer.name):
            layer.set_weights(weights[layer.name])
    return copy
