"""GroupedConv2D: Keras' Conv2D with `groups`, on the fastest exact form of each backend.

Keras 3 routes every grouped convolution through XLA (`jit_compile=True`) because grouped convs
were once broken on CPU. With TF 2.21 TensorFlow's kernel computes them exactly (checked against
per-group dense convs, gradients included), while XLA's CPU backward pass is ~100x slower: for a
(64, 16, 16, 36) input with 18 groups, forward+backward took 13 s under XLA and 0.06 s here.
MUXNet's mux blocks use groups of 2 channels: on TensorFlow and JAX those run as two depthwise
convolutions and a pair swap (`pair_grouped`), exactly the same function on the op that every
runtime runs fast. PyTorch's own grouped kernel is the faster one there, so on PyTorch the layer
is Keras' Conv2D as it is. `dev/bench_grouped_conv.py` measures the two forms side by side on
the backend it runs on; the README gives the figures.
Weights, names and config are exactly Conv2D's; only the class differs.
"""

from keras_muxnet._keras import BACKEND, ON_TENSORFLOW, keras, register
from keras_muxnet.layers.pair_grouped import is_pair_grouped, pair_grouped_conv2d

if ON_TENSORFLOW:
    import tensorflow as tf

# Per backend: run 2-channel groups as the depthwise pair (else the backend's grouped kernel).
PAIRS_AS_DEPTHWISE = {"tensorflow": True, "jax": True, "torch": False}


@register
class GroupedConv2D(keras.layers.Conv2D):
    """Conv2D (channels_last) whose grouped convolution runs without XLA on TensorFlow, and
    whose 2-channel groups run as depthwise pairs where that is faster."""

    def convolution_op(self, inputs, kernel):
        if self.data_format != "channels_last":
            return super().convolution_op(inputs, kernel)
        padding = self.padding.upper()
        if (PAIRS_AS_DEPTHWISE.get(BACKEND, True)
                and is_pair_grouped(kernel.shape, self.groups, inputs.shape[-1])):
            return pair_grouped_conv2d(inputs, kernel, tuple(self.strides), padding,
                                       tuple(self.dilation_rate))
        if not ON_TENSORFLOW:
            return super().convolution_op(inputs, kernel)
        return tf.nn.convolution(inputs, kernel, strides=list(self.strides), padding=padding,
                                 dilations=list(self.dilation_rate), data_format="NHWC")
