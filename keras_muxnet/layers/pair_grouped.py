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
    # (kh, kw, j, g, m) -> (kh, kw, g, j, m): per group a 2x2 matrix from input j to output m.
    # (TensorFlow's gradient through this transpose + diagonal is ~10% faster in a train step
    # than through strided slices of the kernel.)
    blocks = backend_ops.transpose(backend_ops.reshape(kernel, [kh, kw, 2, channels // 2, 2]),
                                   [0, 1, 3, 2, 4])
    diagonal = backend_ops.diagonal_of_last_two_axes(blocks)  # (kh, kw, g, 2): W[m, 2g + m]
    anti = backend_ops.diagonal_of_last_two_axes(backend_ops.reverse_last_axis(blocks))
    return (backend_ops.reshape(diagonal, [kh, kw, channels, 1]),  # anti: W[j, 2g + 1 - j]
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
