"""Export-time rewrite: the same function on operators that XNNPACK runs fast.

MUXNet's channel-multiplexed blocks convolve with groups of 2 channels (kernel (k, k, 2, C)).
TFLite runs such a grouped CONV_2D as C/2 tiny matrix products, ten times slower than a
depthwise convolution of the same size on this kind of CPU. The same arithmetic, exactly, is
two depthwise convolutions whose results are added, one on the input and one on the input with
the two channels of every group swapped:

    y[2g + m] = conv(x[2g + m], W[:, :, m, 2g + m]) + conv(x[2g + 1 - m], W[:, :, 1 - m, 2g + m])

Swapping within pairs is a slow gather in TFLite; swapping *halves* is a cheap slice + concat.
So the block is rewritten in the channel order P = [0, 2, 4, ..., 1, 3, 5, ...] (even channels,
then odd ones), in which the pair swap becomes the half swap. The order costs nothing anywhere
else: the 1x1 expansion conv and its BatchNorm produce their channels in that order, the
BatchNorm after the grouped conv folds into the depthwise kernels, the activation and the
squeeze-excitation gate act per channel, and the 1x1 convolutions that read the block's channels
(squeeze-excitation reduce and the projection) read them through permuted kernels.

The stem gets the same treatment for another reason: the input normalization, (x - mean) / std
per channel, is a full pass over the image that TFLite cannot fold into the stem convolution
because of the zero padding in between. But normalize -> pad -> conv -> BatchNorm is affine in
x, so it equals conv'(pad(x)) + stem(0): a convolution with the normalization and BatchNorm
scales folded into its kernel, plus the constant image stem(0) (the original layers run on a
black image), which also carries the exact effect of the padding at the borders.

`for_inference(model)` returns a copy of the model with every such block rewritten and every
other layer copied with its weights; it equals the original up to float rounding (the parity
tests hold the TFLite model to 1e-4). It is for inference: the folded BatchNorm no longer trains.
"""

import dataclasses
from typing import Optional

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras, register, require_tensorflow, variable_short_name
from keras_muxnet.export import channel_order
from keras_muxnet.export.graph import Graph, is_linear, is_pointwise, layer_weights
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D, depthwise_conv
from keras_muxnet.layers.grouped_conv import GroupedConv2D
from keras_muxnet.layers.kernel_tiles import XNNPACK_MAX_DEPTHWISE_TAPS, tiled_depthwise_conv2d

layers = keras.layers


@register
class TiledDepthwiseConv2D(layers.Layer):
    """Keras' DepthwiseConv2D (multiplier 1, no dilation, linear) with a kernel of more than 25
    taps, as a sum of <= 25-tap tiles: the same weights, the form XNNPACK runs fast."""

    def __init__(self, kernel_size, strides=1, pad=0, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size, self.strides = int(kernel_size), int(strides)
        self.pad, self.use_bias = int(pad), bool(use_bias)

    def build(self, input_shape):
        k, channels = self.kernel_size, int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(k, k, channels, 1), initializer="zeros")
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        y = tiled_depthwise_conv2d(inputs, tf.cast(self.kernel, inputs.dtype), self.strides,
                                   self.pad, XNNPACK_MAX_DEPTHWISE_TAPS)
        return tf.nn.bias_add(y, tf.cast(self.bias, inputs.dtype)) if self.use_bias else y

    def compute_output_shape(self, input_shape):
        size = [None if d is None else (d + 2 * self.pad - self.kernel_size) // self.strides + 1
                for d in input_shape[1:3]]
        return (input_shape[0], *size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides,
                "pad": self.pad, "use_bias": self.use_bias}


def _is_tileable_depthwise(layer):
    """A Keras DepthwiseConv2D with more than 25 taps that TiledDepthwiseConv2D can stand for:
    square odd kernel, no dilation or depth multiplier, linear, symmetric padding."""
    if type(layer) is not layers.DepthwiseConv2D:
        return False
    kh, kw = layer.kernel_size
    strides = tuple(layer.strides)
    return (kh == kw and kh % 2 == 1 and kh * kw > XNNPACK_MAX_DEPTHWISE_TAPS
            and layer.depth_multiplier == 1 and tuple(layer.dilation_rate) == (1, 1)
            and is_linear(layer) and strides[0] == strides[1]
            and (layer.padding == "valid" or strides[0] == 1))


def _tiled_depthwise(layer):
    """The TiledDepthwiseConv2D standing for a tileable Keras DepthwiseConv2D."""
    k, strides = layer.kernel_size[0], layer.strides[0]
    return TiledDepthwiseConv2D(k, strides, (k - 1) // 2 if layer.padding == "same" else 0,
                                layer.use_bias, name=layer.name)


@register
class PairSwapDepthwiseConv2D(layers.Layer):
    """A grouped conv with 2 channels per group, on channels ordered [evens, odds].

    Output = depthwise(x, kernel) + depthwise(swap_halves(x), swapped_kernel) + bias, with the
    output in the same [evens, odds] order. Stride 1, "same" padding.
    """

    def __init__(self, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        shape = (self.kernel_size, self.kernel_size, channels, 1)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros")
        self.swapped_kernel = self.add_weight(name="swapped_kernel", shape=shape,
                                              initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        half = inputs.shape[-1] // 2
        swapped = tf.concat([inputs[..., half:], inputs[..., :half]], axis=-1)
        k, taps = self.kernel_size, XNNPACK_MAX_DEPTHWISE_TAPS  # 'same' at stride 1, k odd
        direct = depthwise_conv(inputs, tf.cast(self.kernel, inputs.dtype), k, 1, taps)
        direct = tf.nn.bias_add(direct, tf.cast(self.bias, inputs.dtype))
        return direct + depthwise_conv(swapped, tf.cast(self.swapped_kernel, inputs.dtype), k, 1,
                                       taps)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@register
class ConvPlusConstant(layers.Layer):
    """A bias-free convolution (valid padding) followed by adding a constant output image."""

    def __init__(self, filters, kernel_size, strides, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)

    def build(self, input_shape):
        k = self.kernel_size
        out = [(int(d) - k) // self.strides + 1 for d in input_shape[1:3]]
        self.kernel = self.add_weight(name="kernel", shape=(k, k, int(input_shape[-1]), self.filters),
                                      initializer="zeros")
        self.constant = self.add_weight(name="constant", shape=(*out, self.filters),
                                        initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        y = tf.nn.conv2d(inputs, tf.cast(self.kernel, inputs.dtype), self.strides, "VALID")
        return y + tf.cast(self.constant, inputs.dtype)

    def compute_output_shape(self, input_shape):
        k, s = self.kernel_size, self.strides
        return (input_shape[0], *[(d - k) // s + 1 for d in input_shape[1:3]], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides}


@register
class FoldedAway(layers.Layer):
    """Stands where a layer folded into its predecessor was (e.g. a BatchNorm): returns its input.

    Unlike `Identity` it accepts the `training` and `mask` arguments the replaced layer was
    called with, so the graph can be replayed through it unchanged.
    """

    def call(self, inputs, training=None, mask=None):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@dataclasses.dataclass
class PairGroupedBlock:
    """expand 1x1 -> BN -> act -> grouped conv (2 per group) -> BN -> act [-> SE] -> project 1x1."""

    expand_conv: object
    expand_bn: object
    grouped_conv: object
    bn: object
    se_reduce: Optional[object]
    se_expand: Optional[object]
    project_conv: object


# Exact classes, not isinstance: tf_keras' DepthwiseConv2D subclasses Conv2D. The builders use
# GroupedConv2D; a plain Conv2D with groups (a user's model) qualifies too.
_GROUPED_CONV_TYPES = (layers.Conv2D, GroupedConv2D)


def _is_pair_grouped(layer):
    if type(layer) not in _GROUPED_CONV_TYPES or layer.groups < 2:
        return False
    kh, kw, per_group, filters = layer.kernel.shape
    return (per_group == 2 and filters == 2 * layer.groups and kh == kw and kh % 2 == 1
            and tuple(layer.strides) == (1, 1) and tuple(layer.dilation_rate) == (1, 1)
            and layer.padding == "same" and is_linear(layer))


def _squeeze_excite(graph, activation):
    """(reduce, expand, excite) if `activation` feeds exactly a MUXNet SE block, else None."""
    after = graph.after(activation)
    if len(after) != 2:
        return None
    squeeze = next((l for l in after if type(l) is layers.GlobalAveragePooling2D), None)
    excite = next((l for l in after if type(l) is layers.Multiply), None)
    if squeeze is None or excite is None or not getattr(squeeze, "keepdims", False):
        return None
    reduce = graph.only_after(squeeze, layers.Conv2D)
    expand = graph.only_after(reduce, layers.Conv2D) if reduce is not None else None
    if (reduce is None or expand is None or not (is_pointwise(reduce) and is_pointwise(expand))
            or graph.only_after(expand, layers.Multiply) is not excite):
        return None
    return reduce, expand, excite


def find_blocks(model):
    """Every rewritable pair-grouped block at the top level of `model`."""
    graph = Graph(model)
    found = []
    for layer in model.layers:
        if not _is_pair_grouped(layer):
            continue
        expand_act = graph.before(layer, layers.Activation)
        expand_bn = graph.before(expand_act, layers.BatchNormalization) if expand_act else None
        expand_conv = graph.before(expand_bn, layers.Conv2D) if expand_bn else None
        bn = graph.only_after(layer, layers.BatchNormalization)
        activation = graph.only_after(bn, layers.Activation) if bn else None
        if expand_conv is None or not (is_pointwise(expand_conv) and is_linear(expand_conv)) \
                or activation is None:
            continue
        se = _squeeze_excite(graph, activation)
        gate = se[2] if se else activation
        project = graph.only_after(gate, layers.Conv2D)
        if project is None or not is_pointwise(project):
            continue
        found.append(PairGroupedBlock(expand_conv, expand_bn, layer, bn,
                                      se[0] if se else None, se[1] if se else None, project))
    return found


def find_large_kernels(model):
    """Depthwise layers with a kernel XNNPACK would run on its slow generic path (more than 25
    taps): branched ones (mixed kernels, spatial multiplexing) and Keras' DepthwiseConv2D."""
    return [layer for layer in model.layers
            if (isinstance(layer, BranchedDepthwiseConv2D) and layer.max_kernel_taps is None
                and max(layer.branch_kernel_sizes) ** 2 > XNNPACK_MAX_DEPTHWISE_TAPS)
            or _is_tileable_depthwise(layer)]


@dataclasses.dataclass
class NormalizedStem:
    """Normalization -> ZeroPadding2D -> Conv2D (valid, no activation) -> BatchNorm."""

    normalization: object
    padding: object
    conv: object
    bn: object


def find_stems(model):
    """Every input normalization that reaches a convolution only through zero padding."""
    graph = Graph(model)
    found = []
    for layer in model.layers:
        if type(layer) is not layers.Normalization or getattr(layer, "invert", False):
            continue
        padding = graph.only_after(layer, layers.ZeroPadding2D)
        conv = graph.only_after(padding, layers.Conv2D) if padding else None
        bn = graph.only_after(conv, layers.BatchNormalization) if conv else None
        if (bn is not None and conv.groups == 1 and conv.padding == "valid" and is_linear(conv)
                and not conv.use_bias and len(set(conv.strides)) == 1
                and len(set(conv.kernel_size)) == 1 and tuple(conv.dilation_rate) == (1, 1)
                and None not in tuple(layer.input.shape[1:])):
            found.append(NormalizedStem(layer, padding, conv, bn))
    return found


# -- weights -----------------------------------------------------------------------------------
def bn_affine(bn):
    """A BatchNorm layer at inference as y = x * scale + shift."""
    weights = dict(zip([variable_short_name(w) for w in bn.weights], layer_weights(bn)))
    mean, var = weights["moving_mean"], weights["moving_variance"]
    gamma = weights.get("gamma", np.ones_like(mean))
    beta = weights.get("beta", np.zeros_like(mean))
    scale = gamma / np.sqrt(var + bn.epsilon)
    return scale, beta - mean * scale


def evens_then_odds(channels):
    """The permutation [0, 2, 4, ..., 1, 3, 5, ...] of an even number of channels."""
    return np.concatenate([np.arange(0, channels, 2), np.arange(1, channels, 2)])


def pair_swap_weights(grouped_kernel, scale, shift):
    """Weights of PairSwapDepthwiseConv2D for grouped conv (k, k, 2, C) followed by y*scale+shift.

    Input and output are in the order P = evens_then_odds(C): position i holds channel P[i],
    whose partner (the other channel of its group) sits at position i + C/2 (mod C).
    """
    channels = grouped_kernel.shape[-1]
    order = evens_then_odds(channels)
    within = order % 2  # where channel P[i] sits inside its group
    kernel = grouped_kernel[:, :, within, order] * scale[order]
    swapped = grouped_kernel[:, :, 1 - within, order] * scale[order]
    return [kernel[..., None].astype(np.float32), swapped[..., None].astype(np.float32),
            shift[order].astype(np.float32)]


def _block_weights(block):
    """{layer name: new weights} for one rewritten block."""
    order = evens_then_odds(block.grouped_conv.filters)
    new = {}
    expand = layer_weights(block.expand_conv)
    new[block.expand_conv.name] = [expand[0][..., order]] + [b[order] for b in expand[1:]]
    new[block.expand_bn.name] = [w[order] for w in layer_weights(block.expand_bn)]
    scale, shift = bn_affine(block.bn)
    grouped = layer_weights(block.grouped_conv)
    if block.grouped_conv.use_bias:
        shift = shift + grouped[1] * scale
    new[block.grouped_conv.name] = pair_swap_weights(grouped[0], scale, shift)
    new[block.bn.name] = []
    for reader in filter(None, (block.se_reduce, block.project_conv)):
        weights = layer_weights(reader)
        new[reader.name] = [weights[0][:, :, order, :]] + weights[1:]
    if block.se_expand is not None:
        weights = layer_weights(block.se_expand)
        new[block.se_expand.name] = [weights[0][..., order]] + [b[order] for b in weights[1:]]
    return new


def normalization_affine(layer):
    """Keras' Normalization as x * scale + shift per channel."""
    mean = np.asarray(layer.mean, dtype=np.float64).reshape(-1)
    variance = np.asarray(layer.variance, dtype=np.float64).reshape(-1)
    scale = 1.0 / np.maximum(np.sqrt(variance), keras.backend.epsilon())
    return scale, -mean * scale


def _stem_weights(stem):
    """{layer name: new weights}: conv' = conv * normalization scale * BN scale, + stem(0)."""
    in_scale, _ = normalization_affine(stem.normalization)
    bn_scale, _ = bn_affine(stem.bn)
    kernel = layer_weights(stem.conv)[0]
    kernel = kernel * in_scale.reshape(1, 1, -1, 1) * bn_scale.reshape(1, 1, 1, -1)
    black = np.zeros((1, *stem.normalization.input.shape[1:]), np.float32)
    for layer in (stem.normalization, stem.padding, stem.conv):
        black = layer(black)
    constant = np.asarray(stem.bn(black, training=False))[0]
    return {stem.normalization.name: [], stem.bn.name: [],
            stem.conv.name: [kernel.astype(np.float32), constant.astype(np.float32)]}


def for_inference(model, tile_large_kernels=True, fold_stems=True):
    """A numerically equivalent copy of `model` on operators XNNPACK runs fast.

    Pair-grouped convolutions become depthwise ones, depthwise kernels above 5x5 sums of tiles
    (XNNPACK only; onnxruntime runs big kernels well, so ONNX export passes False), the input
    normalization folds into the stem, channel shuffles into the layers around them.
    `fold_stems=False` keeps the input normalization and the stem as they are (for QAT, see
    `optimize.qat_form`). Returns (new_model, number of rewrites). A model without any pattern
    (including one whose layers are wrapped, e.g. for quantization-aware training) comes back
    as it is.
    """
    require_tensorflow("the export rewrite (for_inference)")
    blocks, stems = find_blocks(model), find_stems(model) if fold_stems else []
    large = find_large_kernels(model) if tile_large_kernels else []
    chains = channel_order.find_chains(model)
    if not blocks and not stems and not large and not chains:
        return model, 0
    replacements, new_weights = {}, {}
    for layer in large:
        replacements[layer.name] = _tiled_depthwise(layer) if _is_tileable_depthwise(layer) else \
            layer.__class__.from_config(
                {**layer.get_config(), "max_kernel_taps": XNNPACK_MAX_DEPTHWISE_TAPS})
    for stem in stems:
        new_weights.update(_stem_weights(stem))
        replacements[stem.normalization.name] = FoldedAway(name=stem.normalization.name)
        replacements[stem.conv.name] = ConvPlusConstant(
            stem.conv.filters, stem.conv.kernel_size[0], stem.conv.strides[0], name=stem.conv.name)
        replacements[stem.bn.name] = FoldedAway(name=stem.bn.name)
    for block in blocks:
        new_weights.update(_block_weights(block))
        replacements[block.grouped_conv.name] = PairSwapDepthwiseConv2D(
            block.grouped_conv.kernel_size[0], name=block.grouped_conv.name)
        replacements[block.bn.name] = FoldedAway(name=block.bn.name)
    shuffles = 0
    for chain, final_conv in chains:  # last: it permutes weights the other rewrites produced
        weights, splits, dropped = channel_order.fold(
            chain, final_conv, lambda layer: new_weights.get(layer.name, layer_weights(layer)))
        new_weights.update(weights)
        replacements.update(splits)
        replacements.update({name: FoldedAway(name=name) for name in dropped})
        shuffles += len(dropped)

    def clone(layer):
        if layer.name in replacements:
            return replacements[layer.name]
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in copy.layers:
        if layer.name in new_weights:
            layer.set_weights(new_weights[layer.name])
        elif layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return copy, len(blocks) + len(stems) + len(large) + shuffles
