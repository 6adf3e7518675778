"""GroupedConv2D: Keras' Conv2D with `groups`, run by TensorFlow's own grouped convolution.

Keras 3 routes every grouped convolution through XLA (`jit_compile=True`) because grouped convs
were once broken on CPU. With TF 2.21 TensorFlow's kernel computes them exactly (checked against
per-group dense convs, gradients included), while XLA's CPU backward pass is ~100x slower: for a
(64, 16, 16, 36) input with 18 groups, forward+backward took 13 s under XLA and 0.06 s here.
Training MUXNet (whose mux blocks use groups of 2 channels) on a CPU depends on that. Weights,
names and config are exactly Conv2D's; only the class differs.
"""

import tensorflow as tf

from keras_muxnet._keras import keras, register


@register
class GroupedConv2D(keras.layers.Conv2D):
    """Conv2D (channels_last) whose grouped convolution runs without XLA."""

    def convolution_op(self, inputs, kernel):
        if self.data_format != "channels_last":
            return super().convolution_op(inputs, kernel)
        return tf.nn.convolution(inputs, kernel, strides=list(self.strides), padding=self.padding.upper(),
                                 dilations=list(self.dilation_rate), data_format="NHWC")
