"""ChannelMux: the paper's channel multiplexing (Section 3.2) as a Keras wrapper layer."""

import inspect

from keras_muxnet._keras import keras, register
from keras_muxnet.layers import backend_ops
from keras_muxnet.layers.channels import processed_channels, shuffle_channels, split_channels


@register
class ChannelMux(keras.layers.Wrapper):
    """Run `layer` on part of the channels, pass the rest through, then interleave the two.

    `leave_out_ratio` is the paper's leave-out ratio l: the share of input channels that passes
    unchanged. The first C - l*C channels (the authors' `split_ratio` is 1 - l; they process the
    first int(C * split_ratio)) go through `layer`, which must keep their shape. The result is
    concatenated with the passed channels and shuffled with 2 groups, the authors' order: with
    l = 0.5, output channel 2i is processed[i] and 2i + 1 is passed[i].

    MUXNet's builders spell the same three steps as separate layers (ChannelSplit, the block's
    layers, Concatenate + ChannelShuffle) so that every layer keeps a flat, stable name; this
    wrapper is for putting channel multiplexing around any layer of your own.
    """

    def __init__(self, layer, leave_out_ratio=0.5, **kwargs):
        super().__init__(layer, **kwargs)
        if not 0.0 < float(leave_out_ratio) < 1.0:
            raise ValueError(f"leave_out_ratio must lie strictly between 0 and 1, got {leave_out_ratio}")
        self.leave_out_ratio = float(leave_out_ratio)

    def _processed(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("ChannelMux needs a static channel count")
        processed = processed_channels(channels, self.leave_out_ratio)
        if channels % 2:
            raise ValueError(f"ChannelMux interleaves with 2 groups and needs an even channel count, got {channels}")
        return processed

    def build(self, input_shape):
        processed = self._processed(input_shape)
        inner_shape = tuple(input_shape[:-1]) + (processed,)
        if not self.layer.built:
            self.layer.build(inner_shape)
        out = tuple(self.layer.compute_output_shape(inner_shape))
        if tuple(out[1:]) != tuple(inner_shape[1:]):
            raise ValueError(
                f"ChannelMux wraps {self.layer.name}, which maps {inner_shape[1:]} to {out[1:]}; "
                f"the wrapped layer must keep the shape of the processed channels")
        self.built = True

    def call(self, inputs, training=None):
        processed = self._processed(inputs.shape)
        head, tail = split_channels(inputs, [processed, inputs.shape[-1] - processed])
        kwargs = {"training": training} if _accepts_training(self.layer) else {}
        return shuffle_channels(backend_ops.concat([self.layer(head, **kwargs), tail]), 2)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "leave_out_ratio": self.leave_out_ratio}


def _accepts_training(layer):
    return "training" in inspect.signature(layer.call).parameters
