"""Depthwise convolution whose channel groups each take their own branch.

Both MUXNet's mixed-kernel depthwise convolution (one kernel size per group) and its spatial
multiplexing (one pixel-shuffle scale per group) are "split the channels, run a depthwise
convolution per group, concatenate". This base class does that once; the two public layers
only say which kernel size and which scale each branch has.
"""

from keras_muxnet._keras import keras
from keras_muxnet.layers import backend_ops
from keras_muxnet.layers.channels import split_channels, split_sizes
from keras_muxnet.layers.kernel_tiles import tiled_depthwise_conv2d

_SCALE_NAMES = {-1: "subpixel", 0: "plain", 1: "superpixel"}


def symmetric_padding(kernel_size, strides=1):
    """PyTorch-style padding the authors use on every side: ((s - 1) + (k - 1)) // 2."""
    return ((strides - 1) + (kernel_size - 1)) // 2


def conv_output_size(size, kernel_size, strides):
    """Output length of a convolution with symmetric padding (None stays None)."""
    if size is None:
        return None
    return (size + 2 * symmetric_padding(kernel_size, strides) - kernel_size) // strides + 1


def depthwise_conv(x, kernel, kernel_size, strides, max_taps=None):
    """Depthwise convolution with the authors' symmetric padding, builtin TFLite ops only.

    With `max_taps`, a kernel of more taps runs as a sum of tiles of at most that many
    (`kernel_tiles`), the form XNNPACK runs fast.
    """
    pad = symmetric_padding(kernel_size, strides)
    if max_taps is not None and kernel_size * kernel_size > max_taps:
        return tiled_depthwise_conv2d(x, kernel, strides, pad, max_taps)
    if strides == 1 and 2 * pad == kernel_size - 1:
        return backend_ops.depthwise_conv2d(x, kernel, 1, "SAME")
    if pad:
        x = backend_ops.pad_spatial(x, pad)
    return backend_ops.depthwise_conv2d(x, kernel, strides, "VALID")


def _fresh(initializer):
    """A new instance per weight: one seeded instance would give every branch the same values."""
    return type(initializer).from_config(initializer.get_config())


class BranchedDepthwiseConv2D(keras.layers.Layer):
    """Base: channel groups, each with (kernel_size, scale); depthwise per group; concatenate."""

    def __init__(self, kernel_sizes, scales, strides=1, depthwise_initializer="he_normal",
                 depthwise_regularizer=None, max_kernel_taps=None, **kwargs):
        super().__init__(**kwargs)
        if max_kernel_taps is not None and int(max_kernel_taps) < 1:
            raise ValueError(f"max_kernel_taps must be at least 1, got {max_kernel_taps}")
        # Inference form only: kernels above this many taps run as sums of tiles (same output).
        self.max_kernel_taps = None if max_kernel_taps is None else int(max_kernel_taps)
        if len(kernel_sizes) != len(scales):
            raise ValueError("one kernel size per scale is needed")
        self.branch_kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.branch_scales = tuple(int(s) for s in scales)
        for k in self.branch_kernel_sizes:
            if k < 1:
                raise ValueError(f"kernel sizes must be positive, got {list(self.branch_kernel_sizes)}")
        for s in self.branch_scales:
            if s not in _SCALE_NAMES:
                raise ValueError(f"scales must be -1 (subpixel), 0 or 1 (superpixel), got {list(self.branch_scales)}")
        self.strides = int(strides)
        if self.strides not in (1, 2):
            raise ValueError(f"strides must be 1 or 2, got {strides}")
        self.depthwise_initializer = keras.initializers.get(depthwise_initializer)
        self.depthwise_regularizer = keras.regularizers.get(depthwise_regularizer)

    # -- shapes -----------------------------------------------------------------------------
    def _describe(self, i):
        return (f"{type(self).__name__} '{self.name}' branch {i} "
                f"(scale {self.branch_scales[i]}, {_SCALE_NAMES[self.branch_scales[i]]})")

    def _branch_channels(self, channels):
        """(input channels of the split, channels the branch's convolution sees) per branch."""
        sizes = split_sizes(channels, len(self.branch_scales))
        out = []
        for i, (c, scale) in enumerate(zip(sizes, self.branch_scales)):
            if scale == 1 and c % 4:
                raise ValueError(
                    f"{self._describe(i)} gets {c} of {channels} channels; a superpixel branch "
                    f"needs a multiple of 4 (depth-to-space with block 2)")
            out.append((c, {-1: c * 4, 0: c, 1: c // 4}[scale]))
        return out

    def _branch_output_size(self, i, size):
        """Spatial output length of branch i for one input length, checking evenness."""
        if size is None:
            return None
        k, scale, s = self.branch_kernel_sizes[i], self.branch_scales[i], self.strides
        if scale == 0:
            return conv_output_size(size, k, s)
        if scale == -1:
            if size % 2:
                raise ValueError(f"{self._describe(i)} needs an even height and width, got {size}")
            return 2 * conv_output_size(size // 2, k, s)
        out = conv_output_size(2 * size, k, s)
        if out % 2:
            raise ValueError(
                f"{self._describe(i)} yields an odd size {out} at stride {s} from {size}; "
                f"space-to-depth back needs an even one")
        return out // 2

    def _output_hw(self, input_shape):
        sizes = []
        for axis in (1, 2):
            per_branch = {self._branch_output_size(i, input_shape[axis])
                          for i in range(len(self.branch_scales))}
            if len(per_branch) > 1:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': branches disagree on the output size "
                    f"({sorted(per_branch)}) for input size {input_shape[axis]} at stride "
                    f"{self.strides}; use a size divisible by 4")
            sizes.append(per_branch.pop())
        return sizes

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{type(self).__name__} needs a static channel count")
        self._output_hw(input_shape)
        branches = self._branch_channels(channels)
        self.splits = [c for c, _ in branches]
        self.kernels = []
        for i, (_, conv_channels) in enumerate(branches):
            k = self.branch_kernel_sizes[i]
            self.kernels.append(self.add_weight(
                name=f"kernel_{i}", shape=(k, k, conv_channels, 1),
                initializer=_fresh(self.depthwise_initializer),
                regularizer=self.depthwise_regularizer,
                trainable=True))
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        h, w = self._output_hw(input_shape)
        return (input_shape[0], h, w, input_shape[-1])

    # -- compute ----------------------------------------------------------------------------
    def call(self, inputs):
        parts = split_channels(inputs, self.splits)
        outputs = []
        for part, kernel, k, scale in zip(parts, self.kernels, self.branch_kernel_sizes,
                                          self.branch_scales):
            kernel = backend_ops.cast(kernel, part.dtype)
            if scale == -1:
                part = backend_ops.depth_to_space(
                    depthwise_conv(backend_ops.space_to_depth(part, 2), kernel, k, self.strides,
                                   self.max_kernel_taps), 2)
            elif scale == 1:
                part = backend_ops.space_to_depth(
                    depthwise_conv(backend_ops.depth_to_space(part, 2), kernel, k, self.strides,
                                   self.max_kernel_taps), 2)
            else:
                part = depthwise_conv(part, kernel, k, self.strides, self.max_kernel_taps)
            outputs.append(part)
        return backend_ops.concat(outputs) if len(outputs) > 1 else outputs[0]

    def multiply_adds(self, input_shape):
        """Multiply-adds of one example at `input_shape` (H, W, C), for the profiler."""
        total = 0
        for i, (_, conv_channels) in enumerate(self._branch_channels(input_shape[-1])):
            k, scale = self.branch_kernel_sizes[i], self.branch_scales[i]
            factor = {-1: 0.5, 0: 1, 1: 2}[scale]
            h = conv_output_size(int(input_shape[0] * factor), k, self.strides)
            w = conv_output_size(int(input_shape[1] * factor), k, self.strides)
            total += h * w * conv_channels * k * k
        return total

    def get_config(self):
        config = {
            **super().get_config(),
            "strides": self.strides,
            "depthwise_initializer": keras.initializers.serialize(self.depthwise_initializer),
            "depthwise_regularizer": keras.regularizers.serialize(self.depthwise_regularizer),
        }
        if self.max_kernel_taps is not None:
            config["max_kernel_taps"] = self.max_kernel_taps
        return config
