"""Read a functional Keras model as a graph: who produces and who consumes each layer's output.

The export rewrites match patterns of layers (a grouped conv between two 1x1 convolutions, a
channel shuffle feeding a split) in models the builders made, in both Keras modes; these are the
few questions they ask. Layers are expected to be called once (true of the builders' models).
"""

import numpy as np

from keras_muxnet._keras import keras
from keras_muxnet.layers.fused_batch_norm import BatchNormalization as FusedBatchNormalization

layers = keras.layers


def producer(tensor):
    """The layer that made a symbolic tensor."""
    return tensor._keras_history[0]


def inputs_of(layer):
    """A layer's input tensors as a list (empty for an input layer)."""
    try:
        value = layer.input
    except (AttributeError, ValueError, RuntimeError):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def layer_weights(layer):
    return [np.asarray(w) for w in layer.get_weights()]


def is_kind(layer, kind):
    """`type(layer) is kind`, exact (tf_keras' DepthwiseConv2D subclasses Conv2D), except that
    the builders' FusedBatchNormalization counts as the BatchNormalization it computes."""
    return type(layer) is kind or (kind is layers.BatchNormalization
                                   and type(layer) is FusedBatchNormalization)


def _only(layers_, kind):
    return layers_[0] if len(layers_) == 1 and is_kind(layers_[0], kind) else None


class Graph:
    """Consumers of every layer of a model, by layer and by tensor (a layer with several
    outputs, such as a channel split, has its outputs read apart)."""

    def __init__(self, model):
        self.consumers, self.tensor_readers = {}, {}
        for layer in model.layers:
            for tensor in inputs_of(layer):
                self.consumers.setdefault(id(producer(tensor)), []).append(layer)
                self.tensor_readers.setdefault(id(tensor), []).append(layer)

    def after(self, layer):
        return self.consumers.get(id(layer), [])

    def only_after(self, layer, kind):
        return _only(self.after(layer), kind)

    def readers(self, tensor):
        """The layers that take `tensor` as an input."""
        return self.tensor_readers.get(id(tensor), [])

    def only_reader(self, tensor, kind):
        return _only(self.readers(tensor), kind)

    def before(self, layer, kind):
        inputs = inputs_of(layer)
        made_by = producer(inputs[0]) if len(inputs) == 1 else None
        return made_by if is_kind(made_by, kind) and len(self.after(made_by)) == 1 else None


def is_linear(layer):
    return layer.activation in (None, keras.activations.linear)


def is_pointwise(layer):
    """A plain 1x1 convolution, stride 1, no groups (exact class: not a subclass)."""
    return (type(layer) is layers.Conv2D and layer.groups == 1
            and tuple(layer.kernel_size) == (1, 1) and tuple(layer.strides) == (1, 1))
