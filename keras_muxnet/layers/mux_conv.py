"""MuxConv2D: the paper's spatial multiplexing (Section 3.1) as a depthwise Keras layer."""

from keras_muxnet._keras import register
from keras_muxnet.layers.branched_depthwise import BranchedDepthwiseConv2D


@register
class MuxConv2D(BranchedDepthwiseConv2D):
    """Depthwise convolution that sees some channel groups at another resolution.

    The input channels are split into len(scales) equal groups (remainder to the first):
      * scale -1 (subpixel): space-to-depth (block 2) turns C channels at HxW into 4C
        channels at H/2 x W/2, a depthwise kxk convolution runs there, `depth_to_space` maps back;
      * scale 0: a plain depthwise kxk convolution;
      * scale +1 (superpixel): `depth_to_space` turns C channels into C/4 at 2H x 2W, convolve,
        `space_to_depth` back.
    Outputs are concatenated in order. The channel order of both reshuffles is TensorFlow's
    (DCR), which is also the authors'. `strides` applies inside every branch's convolution.

    Constraints (checked when the layer is built, with the offending branch named): a superpixel
    group needs a multiple of 4 channels, a subpixel branch an even height and width.
    """

    def __init__(self, scales=(-1, 0, 1), kernel_size=3, strides=1, **kwargs):
        scales = [int(s) for s in scales]
        if not scales:
            raise ValueError("MuxConv2D needs at least one scale")
        super().__init__([int(kernel_size)] * len(scales), scales, strides=strides, **kwargs)

    @property
    def kernel_size(self):
        return self.branch_kernel_sizes[0]

    def get_config(self):
        return {**super().get_config(), "scales": list(self.branch_scales),
                "kernel_size": self.kernel_size}
