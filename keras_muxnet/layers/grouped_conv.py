"""GroupedConv2D: Keras' Conv2D with `groups`, run without XLA and, for 2-channel groups, as
depthwise convolutions.

Keras 3 routes every grouped convolution through XLA (`jit_compile=True`) because grouped convs
were once broken on CPU. With TF 2.21 TensorFlow's kernel computes them exactly (checked against
per-group dense convs, gradients included), while XLA's CPU backward pass is ~100x slower: for a
(64, 16, 16, 36) input with 18 groups, forward+backward took 13 s under XLA and 0.06 s here.
MUXNet's mux blocks use groups of 2 channels: those run as two depthwise convolutions and a pair
swap (`pair_grouped`), exactly the same function on the op that every runtime runs fast.
Weights, names and config are exactly Conv2D's; only the class differs.
"""

import tensorflow as tf

from keras_muxnet._keras import keras, register
from keras_muxnet.layers.pair_grouped import is_pair_grouped, pair_grouped_conv2d


@register
class GroupedConv2D(keras.layers.Conv2D):
    """Conv2D (channels_last) whose grouped convolution runs without XLA."""

    def convolution_op(self, inputs, kernel):
        if self.data_format != "channels_last":
            return super().convolution_op(inputs, kernel)
        padding = self.padding.upper()
        if is_pair_grouped(kernel.shape, self.groups, inputs.shape[-1]):
            return pair_grouped_conv2d(inputs, kernel, tuple(self.strides), padding,
                                       tuple(self.dilation_rate))
        return tf.nn.convolution(inputs, kernel, strides=list(self.strides), padding=padding,
                                 dilations=list(self.dilation_rate), data_format="NHWC")
