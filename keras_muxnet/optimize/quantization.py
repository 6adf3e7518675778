"""Quantization-aware training (tfmot) for MUXNet, with QuantizeConfigs for its own layers.

tfmot's default 8-bit registry knows Keras' built-in layers but not MUXNet's (MuxConv2D,
MixedDepthwiseConv2D, ChannelSplit, ChannelShuffle), nor `Multiply` (the squeeze-excitation
gate) nor the input `Normalization`. The configs below say what to fake-quantize in each:
  * branched depthwise convs: every branch kernel (symmetric, per tensor) and the output;
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

from keras_muxnet._keras import LEGACY_KERAS, keras
from keras_muxnet.layers import (ChannelMux, ChannelShuffle, ChannelSplit, MixedDepthwiseConv2D,
                                 MuxConv2D)
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D
from keras_muxnet.export.rewrite import normalization_affine
from keras_muxnet.layers.grouped_conv import GroupedConv2D
from keras_muxnet.layers.kernel_tiles import XNNPACK_MAX_DEPTHWISE_TAPS
from keras_muxnet.optimize._tfmot import KerasModeError, tfmot

if LEGACY_KERAS:
    import tensorflow_model_optimization as _tfmot_module

    _QuantizeConfig = _tfmot_module.quantization.keras.QuantizeConfig
    _quantizers = _tfmot_module.quantization.keras.quantizers
else:  # Keras 3: the classes exist so the module imports; using them raises KerasModeError.
    _QuantizeConfig = object
    _quantizers = None


def _weight_quantizer():
    return _quantizers.LastValueQuantizer(num_bits=8, symmetric=True, narrow_range=True,
                                          per_axis=False)


def _activation_quantizer():
    return _quantizers.MovingAverageQuantizer(num_bits=8, symmetric=False, narrow_range=False,
                                              per_axis=False)


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
    """MuxConv2D / MixedDepthwiseConv2D: quantize every branch kernel and the output."""

    def get_weights_and_quantizers(self, layer):
        return [(kernel, _weight_quantizer()) for kernel in layer.kernels]

    def set_quantize_weights(self, layer, quantize_weights):
        if len(quantize_weights) != len(layer.kernels):
            raise ValueError(f"{layer.name} has {len(layer.kernels)} kernels, "
                             f"got {len(quantize_weights)} quantized ones")
        layer.kernels = list(quantize_weights)

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]


class GroupedConvQuantizeConfig(_ConfigBase):
    """GroupedConv2D: no fake quantization inside; the BatchNorm behind it quantizes the output.

    The TFLite converter folds that BatchNorm into the grouped kernel. tfmot handles this for
    the built-in Conv2D (it trains on the folded kernel), not for our subclass: a fake-quantized
    kernel gets folded after its int8 range was fixed, and the int8 model then drifts 25-130
    steps of 8-bit from the Keras QAT model at every mux block (top-1 of the tiny test model:
    0 of 16 agreeing). Left float, the converter quantizes the folded kernel per channel, and
    the int8 model follows the QAT model to an 8-bit step or two.
    """


class OutputQuantizeConfig(_ConfigBase):
    """A weightless layer that computes new values (the SE gate Multiply, Normalization)."""

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]


class PassThroughQuantizeConfig(_ConfigBase):
    """ChannelSplit / ChannelShuffle: channel moves only, nothing to quantize."""


def _after_builtin_conv(layer):
    producer = layer.input._keras_history[0]
    return type(producer) in (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def quantize_config_for(layer):
    """The QuantizeConfig keras-muxnet supplies for `layer`, or None to use tfmot's registry."""
    if isinstance(layer, BranchedDepthwiseConv2D):
        return BranchedDepthwiseQuantizeConfig()
    if isinstance(layer, GroupedConv2D):
        return GroupedConvQuantizeConfig()
    if isinstance(layer, (ChannelSplit, ChannelShuffle)):
        return PassThroughQuantizeConfig()
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
        BranchedDepthwiseQuantizeConfig, GroupedConvQuantizeConfig, OutputQuantizeConfig,
        PassThroughQuantizeConfig)}


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


def _needs_tiles(layer):
    """Whether `layer` is a branched depthwise conv with a kernel XNNPACK runs slowly, untiled."""
    return (isinstance(layer, BranchedDepthwiseConv2D) and layer.max_kernel_taps is None
            and max(layer.branch_kernel_sizes) ** 2 > XNNPACK_MAX_DEPTHWISE_TAPS)


def _tiled(layer):
    """The same layer computing its large kernels as sums of <=25-tap tiles (same output)."""
    return type(layer).from_config({**layer.get_config(),
                                    "max_kernel_taps": XNNPACK_MAX_DEPTHWISE_TAPS})


def quantize_aware(model):
    """A quantization-aware copy of `model` (tf_keras only): train it with `fit`, then export
    with `export.to_tflite(qat_model, path, quantize="int8", representative_data=...)`.

    The input `Normalization` becomes the same affine map as a frozen 1x1 depthwise convolution:
    TFLite's int8 SUB of the normalization wants its input on another scale than the model's
    input quantizer gives, and at the model input that rescaling is a DEQUANTIZE + QUANTIZE
    pair through float; a convolution takes the int8 input as it is.

    Mixed-kernel layers compute their 7x7+ kernels as sums of <=25-tap tiles, the form the
    export rewrite gives them (which cannot see through tfmot's wrappers): each tile converts
    to a DEPTHWISE_CONV_2D that XNNPACK runs fast, cut from the one fake-quantized kernel. The
    grouped convs already are depthwise pairs in the built model (`layers.pair_grouped`).
    """
    qkeras = tfmot().quantization.keras
    affine, retiled = {}, {}

    def annotate(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        if _needs_tiles(layer):
            retiled[layer.name] = layer.get_weights()
            layer = _tiled(layer)
        if _per_channel_normalization(layer):
            affine[layer.name] = normalization_affine(layer)
            layer = _as_depthwise(layer)
        config = quantize_config_for(layer)
        return qkeras.quantize_annotate_layer(layer, config) if config else \
            qkeras.quantize_annotate_layer(layer)

    annotated = keras.models.clone_model(model, clone_function=annotate)
    for wrapper in annotated.layers:
        layer = getattr(wrapper, "layer", wrapper)  # inside its QuantizeAnnotate wrapper
        if layer.name in affine:
            scale, shift = affine[layer.name]
            layer.set_weights([scale.reshape(1, 1, -1, 1), shift])
        elif layer.name in retiled:
            layer.set_weights(retiled[layer.name])
    with qkeras.quantize_scope(custom_objects()):
        return qkeras.quantize_apply(annotated)


__all__ = ["BranchedDepthwiseQuantizeConfig", "GroupedConvQuantizeConfig", "KerasModeError",
           "OutputQuantizeConfig",
           "PassThroughQuantizeConfig", "custom_objects", "quantize_aware", "quantize_config_for",
           "quantize_scope"]
