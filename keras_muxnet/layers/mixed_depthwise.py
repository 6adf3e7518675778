"""Mixed-kernel depthwise convolution (MixConv), as MUXNet's reduction blocks use it."""

from keras_muxnet._keras import register
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D


@register
class MixedDepthwiseConv2D(BranchedDepthwiseConv2D):
    """Depthwise convolution with a different kernel size per channel group.

    The channels are split into len(kernel_sizes) equal groups (remainder to the first), each
    group is convolved with its own kernel, outputs are concatenated in order. Padding is the
    authors' symmetric ((s - 1) + (k - 1)) // 2, so every group keeps the same output size.
    """

    def __init__(self, kernel_sizes=(3, 5, 7), strides=1, **kwargs):
        kernel_sizes = [int(k) for k in kernel_sizes]
        super().__init__(kernel_sizes, [0] * len(kernel_sizes), strides=strides, **kwargs)

    def get_config(self):
        return {**super().get_config(), "kernel_sizes": list(self.branch_kernel_sizes)}
