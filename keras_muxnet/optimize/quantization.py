"""Quantization-aware training (tfmot) for MUXNet, with QuantizeConfigs for its own layers.

`quantize_aware` annotates `qat_form(model)`, the export's fast form with every int8 operator
a layer of its own, so a QAT int8 file runs the PTQ int8 file's operators.

tfmot's default 8-bit registry knows Keras' built-in layers but not MUXNet's (MuxConv2D,
MixedDepthwiseConv2D, ChannelSplit, ChannelShuffle), nor `Multiply` (the squeeze-excitation
gate) nor the input `Normalization`. The configs below say what to fake-quantize in each:
  * every depthwise kernel, Keras' DepthwiseConv2D included, per channel (symmetric), as the
    converter stores it (tfmot's per-tensor ranges were rounded again by the converter);
  * branched depthwise convs: every branch kernel and the output (not when a BatchNorm
    follows: the converter folds it in);
  * the fast form's pair-swap and tiled depthwise layers: their kernels and the output; its
    SwapHalves, GatherSplit and FoldedAway layers move channels only: nothing;
  * a sigmoid (the swish's and the gate's, `qat_form` makes them layers): TFLite's fixed int8
    range for LOGISTIC;
  * a channel-mux block's input, residual Add and concatenation: one range, held at its
    calibration (`qat_shared_ranges`), so that the int8 file needs no requantization there;
  * GroupedConv2D (the mux blocks' grouped conv): nothing; the BatchNorm after it quantizes
    the output. Its kernel is left to the TFLite converter on purpose (see
    `GroupedConvQuantizeConfig`);
  * a gate `Multiply`, a `Normalization` elsewhere than at the input, and a BatchNorm that
    follows one of our layers (tfmot folds BatchNorm only into a Conv2D / DepthwiseConv2D in
    front): the output;
  * the input `Normalization` is replaced by the same affine map as a frozen 1x1 depthwise
    convolution (see `quantize_aware`), so the int8 TFLite file has no DEQUANTIZE op at all;
  * split and shuffle: nothing, they only move channels, so their outputs keep their input's range.
Works only with tf_keras (TF_USE_LEGACY_KERAS=1); `quantize_scope()` is needed to load a saved
QAT model.
"""

import tensorflow as tf

from keras_muxnet._keras import LEGACY_KERAS, keras
from keras_muxnet.layers import (ChannelMux, ChannelShuffle, ChannelSplit, MixedDepthwiseConv2D,
                                 MuxConv2D)
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D
from keras_muxnet.export.channel_order import GatherSplit
from keras_muxnet.export.graph import Graph, is_kind
from keras_muxnet.export.rewrite import (FoldedAway, PairSwapDepthwiseConv2D,
                                         TiledDepthwiseConv2D, normalization_affine)
from keras_muxnet.layers.grouped_conv import GroupedConv2D
from keras_muxnet.optimize import qat_ranges
from keras_muxnet.optimize._tfmot import KerasModeError, tfmot
from keras_muxnet.optimize.qat_form import SwapHalves, qat_form
from keras_muxnet.optimize.qat_shared_ranges import shared_range_groups, unite

if LEGACY_KERAS:
    import tensorflow_model_optimization as _tfmot_module

    _QuantizeConfig = _tfmot_module.quantization.keras.QuantizeConfig
    _quantizers = _tfmot_module.quantization.keras.quantizers
else:  # Keras 3: the classes exist so the module imports; using them raises KerasModeError.
    _QuantizeConfig = object
    _quantizers = None


def _activation_quantizer(held=False):
    kind = HeldRangeQuantizer if held else _quantizers.MovingAverageQuantizer
    return kind(num_bits=8, symmetric=False, narrow_range=False, per_axis=False)


class PerChannelDepthwiseQuantizer(_quantizers.LastValueQuantizer if LEGACY_KERAS else object):
    """A depthwise kernel (kh, kw, C, 1) fake-quantized per channel (symmetric, narrow range),
    as the converter stores it. tfmot quantizes depthwise kernels per tensor; the converter then
    rounds those values again onto per-channel steps, so the int8 kernel is not the one QAT
    trained with (measured: every DEPTHWISE_CONV_2D of an int8 QAT MUXNet-xs per channel)."""

    def __init__(self):
        super().__init__(num_bits=8, per_axis=True, symmetric=True, narrow_range=True)

    def build(self, tensor_shape, name, layer):
        channels = int(tensor_shape[2]) * int(tensor_shape[3])
        return _quantizers.LastValueQuantizer.build(self, tf.TensorShape([channels]), name, layer)

    def __call__(self, inputs, training, weights, **kwargs):
        kh, kw, channels, multiplier = (int(d) for d in inputs.shape)
        flat = tf.reshape(inputs, (kh, kw, 1, channels * multiplier))
        quantized = _quantizers.LastValueQuantizer.__call__(self, flat, training, weights,
                                                             **kwargs)
        return tf.reshape(quantized, inputs.shape)

    def get_config(self):
        return {}


class HeldRangeQuantizer(_quantizers.MovingAverageQuantizer if LEGACY_KERAS else object):
    """An activation quantizer whose range stays where calibration set it (its moving average
    never updates): for the tensors the int8 file gives one scale, which must keep one range
    (`optimize.qat_shared_ranges`)."""

    def __call__(self, inputs, training, weights, **kwargs):
        return super().__call__(inputs, False, weights, **kwargs)


class _ConfigBase(_QuantizeConfig):
    def __init__(self):
        tfmot()  # a clear KerasModeError under Keras 3

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


class BranchedDepthwiseQuantizeConfig(_ConfigBase):
    """MuxConv2D / MixedDepthwiseConv2D: quantize every branch kernel and the output, unless a
    BatchNorm follows (`quantize_output=False`): the converter folds that BatchNorm into the
    branch kernels, so the int8 file has no tensor between the two, and a fake quantization
    there (in the QAT model only) rounds at the small pre-BatchNorm range, which the BatchNorm
    then magnifies (up to 12 int8 steps of drift after one mixed-kernel block of the digits
    model). The BatchNorm's own output quantizer stands for both, as tfmot does for Conv2D.
    """

    def __init__(self, quantize_output=True):
        super().__init__()
        self.quantize_output = bool(quantize_output)

    def get_weights_and_quantizers(self, layer):
        return [(kernel, PerChannelDepthwiseQuantizer()) for kernel in layer.kernels]

    def set_quantize_weights(self, layer, quantize_weights):
        if len(quantize_weights) != len(layer.kernels):
            raise ValueError(f"{layer.name} has {len(layer.kernels)} kernels, "
                             f"got {len(quantize_weights)} quantized ones")
        layer.kernels = list(quantize_weights)

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()] if self.quantize_output else []

    def get_config(self):
        return {"quantize_output": self.quantize_output}


class GroupedConvQuantizeConfig(_ConfigBase):
    """GroupedConv2D: no fake quantization inside; the BatchNorm behind it quantizes the output.

    The TFLite converter folds that BatchNorm into the grouped kernel. tfmot handles this for
    the built-in Conv2D (it trains on the folded kernel), not for our subclass: a fake-quantized
    kernel gets folded after its int8 range was fixed, and the int8 model then drifts 25-130
    steps of 8-bit from the Keras QAT model at every mux block (top-1 of the tiny test model:
    0 of 16 agreeing). Left float, the converter quantizes the folded kernel per channel, and
    the int8 model follows the QAT model to an 8-bit step or two.
    """


class KernelsQuantizeConfig(_ConfigBase):
    """A layer of the export rewrite's fast form (pair-swap depthwise, tiled depthwise, stem
    conv plus constant): quantize its kernel attributes and its output."""

    def __init__(self, attributes=("kernel",)):
        super().__init__()
        self.attributes = tuple(attributes)

    def get_weights_and_quantizers(self, layer):
        return [(getattr(layer, name), PerChannelDepthwiseQuantizer())
                for name in self.attributes]

    def set_quantize_weights(self, layer, quantize_weights):
        for name, weight in zip(self.attributes, quantize_weights, strict=True):
            setattr(layer, name, weight)

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]

    def get_config(self):
        return {"attributes": list(self.attributes)}


class OutputQuantizeConfig(_ConfigBase):
    """A weightless layer that computes new values (the SE gate Multiply, Normalization)."""

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]


class DepthwiseQuantizeConfig(_ConfigBase):
    """Keras' DepthwiseConv2D (multiplier 1): its kernel per channel (see
    `PerChannelDepthwiseQuantizer`) and its output (after its activation: `qat_form` makes a
    ReLU behind it the layer's own, as TFLite fuses it)."""

    def __init__(self, quantize_output=True):
        super().__init__()
        self.quantize_output = bool(quantize_output)

    def get_weights_and_quantizers(self, layer):
        return [(layer.depthwise_kernel, PerChannelDepthwiseQuantizer())]

    def set_quantize_weights(self, layer, quantize_weights):
        (layer.depthwise_kernel,) = quantize_weights

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()] if self.quantize_output else []

    def get_config(self):
        return {"quantize_output": self.quantize_output}


class _HeldOutput(_ConfigBase):
    """Base of the configs whose output range calibration fixes (`HeldRangeQuantizer`).

    tfmot's ConcatTransform turns off the output quantizer of every layer feeding a
    concatenation, by overwriting its config's `get_output_quantizers`. These keep theirs: the
    converter would calibrate such a tensor by itself and give it a scale a few parts in a
    million off the concatenation's, which costs two requantizations (one in, one out).
    """

    def __setattr__(self, name, value):
        if name != "get_output_quantizers":
            super().__setattr__(name, value)

    def get_output_quantizers(self, layer):
        return [_activation_quantizer(held=True)]


class HeldOutputQuantizeConfig(_HeldOutput):
    """A concatenation or residual Add whose output range calibration fixes."""


class HeldPointwiseQuantizeConfig(_HeldOutput):
    """A 1x1 Conv2D (linear) whose output range calibration fixes: its kernel per output
    channel, as tfmot quantizes a Conv2D, and its output at a held range."""

    def get_weights_and_quantizers(self, layer):
        return [(layer.kernel, _quantizers.LastValueQuantizer(
            num_bits=8, symmetric=True, narrow_range=True, per_axis=True))]

    def set_quantize_weights(self, layer, quantize_weights):
        (layer.kernel,) = quantize_weights


# TFLite's int8 LOGISTIC writes its output at the fixed scale 1/256, zero point -128: the range
# [0, 255/256]. Fake-quantizing the sigmoid there makes QAT round where the int8 kernel rounds.
LOGISTIC_INT8_RANGE = (0.0, 255.0 / 256.0)


class SigmoidQuantizeConfig(_ConfigBase):
    """Activation("sigmoid") (the swish's and the squeeze-excitation gate's): its output at
    TFLite's fixed int8 range for LOGISTIC (tfmot leaves a sigmoid's output float)."""

    def get_output_quantizers(self, layer):
        low, high = LOGISTIC_INT8_RANGE
        return [_quantizers.FixedQuantizer(num_bits=8, init_min=low, init_max=high,
                                           narrow_range=False)]


class PassThroughQuantizeConfig(_ConfigBase):
    """ChannelSplit / ChannelShuffle: channel moves only, nothing to quantize."""


def _after_builtin_conv(layer):
    producer = layer.input._keras_history[0]
    return type(producer) in (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def _only_read_by_batchnorm(layer, graph):
    readers = graph.after(layer) if graph is not None else []
    return len(readers) == 1 and is_kind(readers[0], keras.layers.BatchNormalization)


def quantize_config_for(layer, graph=None, held=False):
    """The QuantizeConfig keras-muxnet supplies for `layer`, or None to use tfmot's registry.
    `graph` (an `export.graph.Graph` of the model) tells whether a BatchNorm follows; `held`:
    the layer's output range stays at its calibration (see `optimize.qat_shared_ranges`)."""
    if held and type(layer) is keras.layers.Conv2D:
        return HeldPointwiseQuantizeConfig()
    if held and type(layer) in (keras.layers.Concatenate, keras.layers.Add):
        return HeldOutputQuantizeConfig()
    if isinstance(layer, BranchedDepthwiseConv2D):
        return BranchedDepthwiseQuantizeConfig(not _only_read_by_batchnorm(layer, graph))
    if type(layer) is keras.layers.DepthwiseConv2D and layer.depth_multiplier == 1:
        return DepthwiseQuantizeConfig()
    if isinstance(layer, GroupedConv2D):
        return GroupedConvQuantizeConfig()
    if isinstance(layer, PairSwapDepthwiseConv2D):
        return KernelsQuantizeConfig(("kernel", "swapped_kernel"))
    if isinstance(layer, TiledDepthwiseConv2D):
        return KernelsQuantizeConfig()
    if isinstance(layer, (ChannelSplit, ChannelShuffle, GatherSplit, FoldedAway, SwapHalves)):
        return PassThroughQuantizeConfig()
    if type(layer) is keras.layers.Activation and layer.activation is keras.activations.sigmoid:
        return SigmoidQuantizeConfig()
    if isinstance(layer, (keras.layers.Multiply, keras.layers.Normalization)):
        return OutputQuantizeConfig()
    if isinstance(layer, keras.layers.BatchNormalization) and not _after_builtin_conv(layer):
        return OutputQuantizeConfig()
    if isinstance(layer, ChannelMux):
        raise ValueError(f"{layer.name}: quantize-aware training of a ChannelMux wrapper is not "
                         f"supported; build the block from ChannelSplit/Concatenate/ChannelShuffle")
    return None


def custom_objects():
    """Everything `quantize_scope` needs to rebuild or load a QAT MUXNet."""
    return {cls.__name__: cls for cls in (
        MuxConv2D, MixedDepthwiseConv2D, ChannelSplit, ChannelShuffle, GroupedConv2D,
        PairSwapDepthwiseConv2D, TiledDepthwiseConv2D, FoldedAway, GatherSplit, SwapHalves,
        BranchedDepthwiseQuantizeConfig, GroupedConvQuantizeConfig, KernelsQuantizeConfig,
        OutputQuantizeConfig, PassThroughQuantizeConfig, SigmoidQuantizeConfig,
        HeldOutputQuantizeConfig, HeldPointwiseQuantizeConfig, HeldRangeQuantizer,
        DepthwiseQuantizeConfig, PerChannelDepthwiseQuantizer)}


def quantize_scope():
    """Context manager for loading a saved QAT model: `with quantize_scope(): load_model(...)`."""
    return tfmot().quantization.keras.quantize_scope(custom_objects())


def _per_channel_normalization(layer):
    """Whether `layer` is a Normalization of (x - mean) / std per last-axis channel."""
    if type(layer) is not keras.layers.Normalization or getattr(layer, "invert", False):
        return False
    channels = layer.input.shape[-1]
    return channels is not None and normalization_affine(layer)[0].size == channels


def _as_depthwise(normalization):
    """A frozen 1x1 DepthwiseConv2D computing what `normalization` does, x * scale + shift."""
    return keras.layers.DepthwiseConv2D(1, use_bias=True, trainable=False,
                                        name=normalization.name)


def quantize_aware(model, calibration_images=None, logit_range=None):
    """A quantization-aware copy of `model` (tf_keras only): train it with `fit`, then export
    with `export.to_tflite(qat_model, path, quantize="int8", representative_data=...)`.

    `calibration_images` (N, H, W, C), a few hundred typical inputs: every activation range
    starts at what they give in the float model (`optimize.qat_ranges`), as the PTQ file's
    calibration would set it, not at tfmot's [-6, 6], which a short fine-tune hardly moves.
    The tensors the int8 file gives one scale (a channel-multiplexed block's input and its
    concatenation, `optimize.qat_shared_ranges`) then share one range that the fine-tune keeps,
    so the int8 file needs no requantization between them.

    `logit_range` (low, high): the range of the model's output instead, for a model whose
    output is logits. The int8 output has (high - low) / 255 for its step, and one step of s in
    a logit moves a softmax probability by up to s / 4: calibrated, a trained digits model's
    logits span [-102, 115] (a step of 0.85, probabilities that move by 0.2 for one rounding),
    where (-8, 8) gives steps of 0.063. The QAT model trains with its logits clipped there.

    The input `Normalization` becomes the same affine map as a frozen 1x1 depthwise convolution:
    TFLite's int8 SUB of the normalization wants its input on another scale than the model's
    input quantizer gives, and at the model input that rescaling is a DEQUANTIZE + QUANTIZE
    pair through float; a convolution takes the int8 input as it is.

    What gets annotated is `qat_form(model)`: the export rewrite's fast form (depthwise pairs
    with their BatchNorm folded in, in the [evens, odds] channel order; channel shuffles folded
    away; 7x7+ kernels as sums of <=25-tap tiles), with the pair swap as built-in layers, so the
    int8 file has the PTQ file's operators and its quantized tensors are the ones QAT
    fake-quantized.
    """
    qkeras = tfmot().quantization.keras
    if logit_range is not None:
        logit_range = tuple(float(v) for v in logit_range)
        if len(logit_range) != 2 or not logit_range[0] < 0 < logit_range[1]:
            raise ValueError(f"logit_range must be (low, high) with low < 0 < high, got "
                             f"{logit_range}")
    model = qat_form(model)
    graph = Graph(model)
    affine = {}
    groups = shared_range_groups(model) if calibration_images is not None else []
    held = {name for group in groups for name in group}

    def annotate(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        if _per_channel_normalization(layer):
            affine[layer.name] = normalization_affine(layer)
            layer = _as_depthwise(layer)
        config = quantize_config_for(layer, graph, held=layer.name in held)
        return qkeras.quantize_annotate_layer(layer, config) if config else \
            qkeras.quantize_annotate_layer(layer)

    annotated = keras.models.clone_model(model, clone_function=annotate)
    for wrapper in annotated.layers:
        layer = getattr(wrapper, "layer", wrapper)  # inside its QuantizeAnnotate wrapper
        if layer.name in affine:
            scale, shift = affine[layer.name]
            layer.set_weights([scale.reshape(1, 1, -1, 1), shift])
    with qkeras.quantize_scope(custom_objects()):
        qat = qkeras.quantize_apply(annotated)
    if calibration_images is not None:
        qat_ranges.seed_ranges(
            qat, unite(qat_ranges.observed_ranges(model, calibration_images), groups))
    if logit_range is not None:  # the output (linear) or what enters its softmax
        qat_ranges.seed_ranges(qat, {t._keras_history[0].name: logit_range
                                     for t in model.outputs},
                               kinds=("output", "post_activation", "pre_activation"))
    return qat


__all__ = ["BranchedDepthwiseQuantizeConfig", "DepthwiseQuantizeConfig",
           "GroupedConvQuantizeConfig", "KerasModeError", "PerChannelDepthwiseQuantizer",
           "HeldOutputQuantizeConfig", "HeldPointwiseQuantizeConfig", "HeldRangeQuantizer",
           "OutputQuantizeConfig",
           "PassThroughQuantizeConfig", "SigmoidQuantizeConfig",
           "custom_objects", "quantize_aware", "quantize_config_for", "quantize_scope"]
