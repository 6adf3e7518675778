"""MUXNet's blocks, written as flat functional Keras layers with stable names.

Every tensor operation is a proper layer (no raw `tf.*` on Keras tensors), so the graph is the
same in Keras 3 and tf_keras, tfmot can annotate it, and each weight has a name like
keras.applications' `block2a_expand_conv` that the checkpoint converter relies on.
"""

from keras_muxnet import activations  # noqa: F401  (hard_swish under tf_keras)
from keras_muxnet._keras import LEGACY_KERAS, keras
from keras_muxnet.layers import (ChannelShuffle, ChannelSplit, MixedDepthwiseConv2D, MuxConv2D,
                                 symmetric_padding)
from keras_muxnet.layers.fused_batch_norm import BatchNormalization as FusedBatchNormalization
from keras_muxnet.layers.grouped_conv import GroupedConv2D
from keras_muxnet.layers.channels import processed_channels

layers = keras.layers

BN_EPSILON = 1e-5  # PyTorch's default, which the authors trained with; Keras' 1e-3 breaks parity
BN_MOMENTUM = 0.9  # PyTorch momentum 0.1

# The authors' "goog" initialisation: conv kernels N(0, 2 / fan_out), dense U(+-1/sqrt(fan_out)).
CONV_INITIALIZER = {"class_name": "VarianceScaling",
                    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"}}
DENSE_INITIALIZER = {"class_name": "VarianceScaling",
                     "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}


def batch_norm(name):
    """BatchNorm with the authors' constants; on TF's fused kernel (tf_keras' own BN already is)."""
    kind = layers.BatchNormalization if LEGACY_KERAS else FusedBatchNormalization
    return kind(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


def conv_1x1(filters, name, use_bias=False):
    return layers.Conv2D(filters, 1, use_bias=use_bias, kernel_initializer=CONV_INITIALIZER,
                         name=name)


def conv_bn(x, filters, name, activation=None, kernel_size=1, strides=1):
    """kxk convolution (symmetric padding), BN, optional activation: `<name>conv/bn/activation`."""
    pad = symmetric_padding(kernel_size, strides)
    padding = "same" if strides == 1 else "valid"
    if strides != 1 and pad:
        x = layers.ZeroPadding2D(pad, name=name + "conv_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                      kernel_initializer=CONV_INITIALIZER, name=name + "conv")(x)
    x = batch_norm(name + "bn")(x)
    if activation:
        x = layers.Activation(activation, name=name + "activation")(x)
    return x


def spatial_step(x, args, name, grouped):
    """The block's kxk step on `channels`; returns the tensor before BN.

    Spatial multiplexing if the block lists scales, a mixed-kernel depthwise conv if it lists
    several kernels, the grouped conv with 2 channels per group of a mux block, else depthwise.
    """
    channels = x.shape[-1]
    if args.scales is not None:
        return MuxConv2D(args.scales, args.kernel_sizes[0], strides=args.strides,
                         name=name + "muxconv")(x)
    if len(args.kernel_sizes) > 1:
        return MixedDepthwiseConv2D(args.kernel_sizes, strides=args.strides,
                                    name=name + "dwconv")(x)
    k = args.kernel_sizes[0]
    if grouped:
        if channels % 2:
            raise ValueError(f"{name}: the grouped conv needs an even width, got {channels}")
        return GroupedConv2D(channels, k, padding="same", groups=channels // 2, use_bias=False,
                             kernel_initializer=CONV_INITIALIZER, name=name + "gconv")(x)
    pad = symmetric_padding(k, args.strides)
    if args.strides != 1 and pad:
        x = layers.ZeroPadding2D(pad, name=name + "dwconv_pad")(x)
    return layers.DepthwiseConv2D(k, strides=args.strides,
                                  padding="same" if args.strides == 1 else "valid",
                                  use_bias=False, depthwise_initializer=CONV_INITIALIZER,
                                  name=name + "dwconv")(x)


def squeeze_excite(x, reduced, activation, name):
    """Spatial mean -> 1x1 (bias) -> activation -> 1x1 (bias) -> sigmoid gate on x."""
    s = layers.GlobalAveragePooling2D(keepdims=True, name=name + "se_squeeze")(x)
    s = layers.Conv2D(reduced, 1, activation=activation, kernel_initializer=CONV_INITIALIZER,
                      name=name + "se_reduce")(s)
    # float32 under a mixed precision policy: the gate's sigmoid saturates early in low precision
    s = layers.Conv2D(x.shape[-1], 1, activation="sigmoid", kernel_initializer=CONV_INITIALIZER,
                      dtype="float32", name=name + "se_expand")(s)
    return layers.Multiply(name=name + "se_excite")([x, s])


def se_width(base_channels, se_ratio):
    """The authors' squeeze width: int(block input channels x ratio), at least 1."""
    return max(1, int(base_channels * se_ratio))


def residual(x, shortcut, drop_rate, name):
    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
    return layers.Add(name=name + "add")([x, shortcut])


def inverted_residual(x, args, name, drop_rate=0.0, filters=None, grouped=False):
    """1x1 expand -> BN -> act -> kxk step -> BN -> act -> SE -> 1x1 project -> BN (+ residual)."""
    inputs = x
    in_channels = x.shape[-1]
    filters = filters or args.filters
    mid = int(in_channels * args.expand_ratio)
    if mid != in_channels:
        x = layers.Conv2D(mid, 1, use_bias=False, kernel_initializer=CONV_INITIALIZER,
                          name=name + "expand_conv")(x)
        x = batch_norm(name + "expand_bn")(x)
        x = layers.Activation(args.activation, name=name + "expand_activation")(x)
    x = spatial_step(x, args, name, grouped)
    x = batch_norm(name + "bn")(x)
    x = layers.Activation(args.activation, name=name + "activation")(x)
    if args.se_ratio > 0:
        x = squeeze_excite(x, se_width(in_channels, args.se_ratio), args.activation, name)
    x = conv_1x1(filters, name + "project_conv")(x)
    x = batch_norm(name + "project_bn")(x)
    if args.strides == 1 and in_channels == filters:
        x = residual(x, inputs, drop_rate, name)
    return x


def depthwise_separable(x, args, name, drop_rate=0.0):
    """kxk depthwise -> BN -> act -> SE -> 1x1 -> BN (+ residual): an IR block without expansion."""
    if args.expand_ratio != 1:
        raise ValueError(f"{name}: a ds block has no expansion, got e{args.expand_ratio:g}")
    return inverted_residual(x, args, name, drop_rate)


def channel_multiplexed(x, args, name):
    """Process the first channels with a grouped inverted residual, pass the rest, interleave.

    The released networks skip drop-connect in these blocks, so there is none here either.
    """
    channels = x.shape[-1]
    if args.filters != channels:
        raise ValueError(f"{name}: a mux block keeps its width ({channels}), got c{args.filters}")
    if channels % 2:
        raise ValueError(f"{name}: a mux block interleaves 2 groups and needs an even width, got {channels}")
    processed = processed_channels(channels, args.leave_out_ratio)
    head, tail = ChannelSplit([processed, channels - processed], name=name + "split")(x)
    head = inverted_residual(head, args, name, filters=processed, grouped=args.scales is None)
    x = layers.Concatenate(name=name + "concat")([head, tail])
    return ChannelShuffle(2, name=name + "shuffle")(x)


def build_block(x, args, name, drop_rate):
    if args.block_type == "mux":
        return channel_multiplexed(x, args, name)
    if args.block_type == "ds":
        return depthwise_separable(x, args, name, drop_rate)
    return inverted_residual(x, args, name, drop_rate)
