"""The form of a MUXNet that quantization-aware training annotates: the export's fast form,
with every operator the int8 file will hold as a Keras layer of its own.

An int8 TFLite file follows its QAT model only where each of its quantized tensors was
fake-quantized in training with the same range. So QAT starts from `export.for_inference`
(pair-grouped convolutions as depthwise pairs in the [evens, odds] channel order with their
BatchNorm folded in, channel shuffles folded into the layers around them: the operators the PTQ
int8 file has, none that XNNPACK runs slowly), and then splits its pair-swap layer into what the
converter makes of it, built-in layers that tfmot quantizes as the converter does:

    DepthwiseConv2D(x) + DepthwiseConv2D(SwapHalves(x))   (Add)

Every other BatchNorm right after a built-in convolution is folded into it too, as the converter
would fold it after quantization: QAT then fake-quantizes the kernel the int8 file holds
(tfmot's own conv + BatchNorm patterns quantize the kernel before the BatchNorm scales it).

One part of the rewrite stays out: the input normalization folded into the stem (its kernel,
scaled by 1 / std, trains badly at the optimizer's step size, and its constant image would be
one more quantized tensor); `quantize_aware` makes the normalization a frozen 1x1 depthwise
conv instead. What trains changes in one way: folded BatchNorms no longer update their
statistics (they act as at inference), as a QAT fine-tune of a trained model wants.
"""

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras, register
from keras_muxnet.export.graph import Graph, inputs_of, is_kind, is_linear, producer
from keras_muxnet.export.rewrite import PairSwapDepthwiseConv2D, bn_affine, for_inference
from keras_muxnet.layers.kernel_tiles import XNNPACK_MAX_DEPTHWISE_TAPS

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


def _foldable_batchnorms(model):
    """{id(conv): its BatchNorm} for every BatchNorm right after a built-in Conv2D or
    DepthwiseConv2D (linear, read by the BatchNorm only)."""
    graph, found = Graph(model), {}
    for layer in model.layers:
        if not is_kind(layer, layers.BatchNormalization) or len(inputs_of(layer)) != 1:
            continue
        conv = producer(inputs_of(layer)[0])
        if (type(conv) in (layers.Conv2D, layers.DepthwiseConv2D) and is_linear(conv)
                and getattr(conv, "groups", 1) == 1 and graph.after(conv) == [layer]):
            found[id(conv)] = layer
    return found


def _conv_with_batchnorm(conv, bn):
    """(the conv with a bias and `bn` folded in, its weights)."""
    scale, shift = bn_affine(bn)
    weights = [np.asarray(w) for w in conv.get_weights()]
    kernel = weights[0]
    kernel = (kernel * scale.reshape(1, 1, -1, 1) if type(conv) is layers.DepthwiseConv2D
              else kernel * scale)
    bias = (weights[1] * scale if conv.use_bias else 0.0) + shift
    folded = conv.__class__.from_config({**conv.get_config(), "use_bias": True})
    return folded, [kernel.astype(np.float32), bias.astype(np.float32)]


def qat_form(model):
    """A float copy of `model` in the form `quantize_aware` annotates (same outputs up to float
    rounding); see the module docstring."""
    fast, _ = for_inference(model, fold_stems=False)
    batchnorms = _foldable_batchnorms(fast)
    folded_away = {id(bn) for bn in batchnorms.values()}
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
        elif id(layer) in batchnorms:
            copy, weights[layer.name] = _conv_with_batchnorm(layer, batchnorms[id(layer)])
            output = copy(args)
        else:
            copy = layer.__class__.from_config(layer.get_config())
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
