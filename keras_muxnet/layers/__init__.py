"""Keras layers of MUXNet: spatial and channel multiplexing and what the blocks need."""

from keras_muxnet.layers.branched_depthwise import symmetric_padding
from keras_muxnet.layers.channel_mux import ChannelMux
from keras_muxnet.layers.channels import ChannelShuffle, ChannelSplit
from keras_muxnet.layers.mixed_depthwise import MixedDepthwiseConv2D
from keras_muxnet.layers.mux_conv import MuxConv2D

__all__ = ["ChannelMux", "ChannelShuffle", "ChannelSplit", "MixedDepthwiseConv2D", "MuxConv2D",
           "symmetric_padding"]
