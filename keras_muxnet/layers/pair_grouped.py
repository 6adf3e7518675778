"""A grouped convolution with 2 channels per group, computed as depthwise convolutions.

Channel c = 2g + m of the output of a grouped conv with kernel W (kh, kw, 2, C) reads the two
input channels of its group:

    y[c] = conv(x[c], W[:, :, m, c]) + conv(x[partner(c)], W[:, :, 1 - m, c]),   partner(c) = c ^ 1

The first term is a depthwise convolution with the "diagonal" kernel D[c] = W[:, :, m, c]. The
second, written per input channel i, is conv(x[i], W[:, :, i % 2, partner(i)]) landing on output
partner(i): a depthwise convolution with the "anti-diagonal" kernel followed by the pair swap
(channels 2g and 2g + 1 trade places). Both kernels are slices of W, so the layer keeps W as its
variable (same shape, same checkpoints) and gradients flow to it through the slices.

Depthwise convolutions are the op every runtime optimizes (TensorFlow's CPU and GPU kernels,
XLA, XNNPACK); a grouped conv with 2-channel groups is on a slow path in most of them (C/2 tiny
matrix products, and XLA's CPU backward pass is ~100x slower). The result is the same up to the
order of floating-point additions.
"""

from keras_muxnet.layers import backend_ops


def is_pair_grouped(kernel_shape, groups, in_channels):
    """Whether a grouped conv kernel (kh, kw, in / groups, filters) has 2-channel groups that
    map 2 input channels to 2 output channels each."""
    _, _, per_group, filters = kernel_shape
    return (groups > 1 and per_group == 2 and in_channels == 2 * groups
            and filters == 2 * groups)


def pair_swap(x):
    """Channels 2g and 2g + 1 trade places (last axis, even channel count)."""
    pairs = backend_ops.split_last_axis(x, [x.shape[-1] // 2, 2])
    return backend_ops.reshape_like(backend_ops.reverse_last_axis(pairs), x)


def pair_kernels(kernel):
    """(diagonal, anti-diagonal) depthwise kernels (kh, kw, C, 1) of a grouped kernel
    (kh, kw, 2, C): D[c] = W[c % 2, c] and A[i] = W[i % 2, partner(i)]."""
    kh, kw, _, channels = kernel.shape
    even_in, odd_in = kernel[:, :, 0, :], kernel[:, :, 1, :]  # (kh, kw, C) each
    # interleave (kh, kw, g, 2) -> (kh, kw, C): entry [g, m] is channel 2g + m
    diagonal = backend_ops.stack([even_in[..., 0::2], odd_in[..., 1::2]])  # W[m, 2g + m]
    anti = backend_ops.stack([even_in[..., 1::2], odd_in[..., 0::2]])  # W[m, 2g + 1 - m]
    return (backend_ops.reshape(diagonal, [kh, kw, channels, 1]),
            backend_ops.reshape(anti, [kh, kw, channels, 1]))


def pair_grouped_conv2d(x, kernel, strides=(1, 1), padding="SAME", dilations=(1, 1)):
    """NHWC grouped convolution with 2 channels per group (kernel (kh, kw, 2, C)), exactly, as
    depthwise(x, D) + pair_swap(depthwise(x, A))."""
    diagonal, anti = pair_kernels(kernel)
    if len(set(strides)) != 1 or len(set(dilations)) != 1:
        raise ValueError(f"pair-grouped convolution needs equal strides and dilations on both "
                         f"axes, got strides {tuple(strides)}, dilations {tuple(dilations)}")
    kwargs = dict(strides=int(strides[0]), padding=padding, dilation=int(dilations[0]))
    return (backend_ops.depthwise_conv2d(x, diagonal, **kwargs)
            + pair_swap(backend_ops.depthwise_conv2d(x, anti, **kwargs)))
