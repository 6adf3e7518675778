"""The tensor operations MUXNet's layers are made of, on every Keras backend.

On TensorFlow (Keras 3 or tf_keras) these are TensorFlow's own ops, exactly what the layers
always ran: the TFLite and ONNX exports, tfmot and the measured speed depend on that graph. On
JAX and PyTorch they are `keras.ops` (Keras 3.14+ has space_to_depth / depth_to_space on every
backend, with TensorFlow's channel order). Layers call only this module, never a backend directly.

Shapes: under TensorFlow a reshape whose sizes are static except the batch gets a constant shape
(-1 for the batch) so that a TFLite file has no SHAPE ops; dynamic sizes are read at run time.
JAX and PyTorch always see concrete shapes when a layer runs.
"""

from keras_muxnet._keras import ON_TENSORFLOW

if ON_TENSORFLOW:
    import tensorflow as tf
else:
    from keras import ops


def _padding(padding):
    padding = padding.upper()
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    return padding


def depthwise_conv2d(x, kernel, strides=1, padding="VALID", dilation=1):
    """NHWC depthwise convolution, kernel (kh, kw, C, 1); `strides` and `dilation` are ints."""
    padding = _padding(padding)
    if ON_TENSORFLOW:
        return tf.nn.depthwise_conv2d(x, kernel, [1, strides, strides, 1], padding,
                                      dilations=[dilation, dilation] if dilation != 1 else None)
    return ops.depthwise_conv(x, kernel, strides=strides, padding=padding.lower(),
                              data_format="channels_last", dilation_rate=dilation)


def pad_spatial(x, pad):
    """Zero-pad height and width by `pad` on every side."""
    paddings = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    return tf.pad(x, paddings) if ON_TENSORFLOW else ops.pad(x, paddings)


def space_to_depth(x, block):
    if ON_TENSORFLOW:
        return tf.nn.space_to_depth(x, block)
    return ops.space_to_depth(x, block, data_format="channels_last")


def depth_to_space(x, block):
    if ON_TENSORFLOW:
        return tf.nn.depth_to_space(x, block)
    return ops.depth_to_space(x, block, data_format="channels_last")


def concat(tensors, axis=-1):
    return tf.concat(tensors, axis=axis) if ON_TENSORFLOW else ops.concatenate(tensors, axis=axis)


def channel_slices(x, sizes):
    """Consecutive slices of the last axis of the given (static) sizes.

    Forward, these are plain strided slices (what the TFLite and ONNX exports expect). On
    TensorFlow their gradient is one concatenation of the slices' gradients: the default
    gradient of each slice is a zero tensor of the input's full size with the slice written in,
    summed over the slices, which took about a tenth of a detector's training step on the CPU.
    """
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, start + int(size)))
        start += int(size)
    if not ON_TENSORFLOW:
        return [x[..., a:b] for a, b in bounds]

    @tf.custom_gradient
    def slices(x):
        def gradient(*upstream):
            return tf.concat([tf.zeros_like(part) if g is None else g
                              for g, part in zip(upstream, parts)], axis=-1)

        parts = [x[..., a:b] for a, b in bounds]
        return parts, gradient

    return slices(x)


def cast(x, dtype):
    return tf.cast(x, dtype) if ON_TENSORFLOW else ops.cast(x, dtype)


def reshape(x, shape):
    return tf.reshape(x, shape) if ON_TENSORFLOW else ops.reshape(x, shape)


def transpose(x, perm):
    return tf.transpose(x, perm) if ON_TENSORFLOW else ops.transpose(x, perm)


def reverse_last_axis(x):
    return tf.reverse(x, axis=[-1]) if ON_TENSORFLOW else ops.flip(x, axis=-1)


def diagonal_of_last_two_axes(x):
    """x[..., i, i] for a (..., n, n) tensor."""
    if ON_TENSORFLOW:
        return tf.linalg.diag_part(x)
    return ops.diagonal(x, axis1=-2, axis2=-1)


def _has_static_sizes(x):
    return None not in tuple(x.shape)[1:]


def split_last_axis(x, inner):
    """Reshape (..., C) to (..., *inner), where the product of `inner` is C."""
    inner = [int(i) for i in inner]
    if not ON_TENSORFLOW:
        return ops.reshape(x, (*ops.shape(x)[:-1], *inner))
    if _has_static_sizes(x):
        return tf.reshape(x, [-1, *x.shape[1:-1], *inner])
    return tf.reshape(x, tf.concat([tf.shape(x)[:-1], inner], axis=0))


def reshape_like(y, x):
    """Reshape `y` to the shape of `x` (same number of elements)."""
    if not ON_TENSORFLOW:
        return ops.reshape(y, ops.shape(x))
    if _has_static_sizes(x):
        return tf.reshape(y, [-1, *x.shape[1:]])
    return tf.reshape(y, tf.shape(x))
