"""Tensors that the int8 file gives one scale, found in the float QAT form.

A channel-multiplexed block passes part of its input's channels through untouched and
concatenates them with what it computed. In int8 a channel slice keeps its input's scale and a
concatenation wants one scale in and out, so the PTQ converter gives the block's input, the
passed channels and the concatenation a single scale. QAT's fake quantizers have a range each;
where the block input's and the concatenation's differ, the converter puts a QUANTIZE
(requantization) op in front of the concatenation: 8 to 9 more operators in an int8 MUXNet-xs.
Giving those tensors one range, set from calibration and kept there during the fine-tune, makes
the QAT file's scales the PTQ file's there too.
"""

from keras_muxnet._keras import keras
from keras_muxnet.export.channel_order import GatherSplit
from keras_muxnet.export.graph import inputs_of, producer
from keras_muxnet.export.rewrite import FoldedAway
from keras_muxnet.layers import ChannelSplit

# Layers that produce a shared tensor and whose output range QAT can hold fixed
TIEABLE = (keras.layers.Concatenate, keras.layers.Add, keras.layers.Conv2D)


def _origin(tensor):
    """The layer that computed `tensor`'s values, looking through FoldedAway stand-ins."""
    layer = producer(tensor)
    while type(layer) is FoldedAway and len(inputs_of(layer)) == 1:
        layer = producer(inputs_of(layer)[0])
    return layer


def shared_range_groups(model):
    """[[layer name, ...]]: groups of layers whose outputs the int8 file gives one scale (a
    concatenation, the producer of the channels it passes through from a split, and the
    layers computing its other inputs), each of two or more layers whose outputs QAT can hold
    at a fixed range."""
    parent = {}

    def root(name):
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    def tieable(layer):
        return type(layer) in TIEABLE and getattr(layer, "activation", None) in (
            None, keras.activations.linear)

    for layer in model.layers:
        if type(layer) is not keras.layers.Concatenate:
            continue
        splits = [producer(t) for t in inputs_of(layer)
                  if isinstance(producer(t), (ChannelSplit, GatherSplit))
                  and len(inputs_of(producer(t))) == 1]
        origins = [_origin(inputs_of(split)[0]) for split in splits]
        if not origins or not all(tieable(origin) for origin in origins):
            continue
        # The passed channels' producer, and what computed the other inputs (it writes them
        # at the concatenation's scale in the int8 file)
        feeders = [_origin(t) for t in inputs_of(layer) if producer(t) not in splits]
        for other in [*origins, *filter(tieable, feeders)]:
            parent[root(other.name)] = root(layer.name)
    groups = {}
    for name in parent:
        groups.setdefault(root(name), []).append(name)
    return [sorted(members) for members in groups.values() if len(members) > 1]


def unite(ranges, groups):
    """`ranges` ({name: (min, max)}) with every group's members set to the group's union."""
    united = dict(ranges)
    for group in groups:
        known = [ranges[name] for name in group if name in ranges]
        if known:
            both = (min(low for low, _ in known), max(high for _, high in known))
            united.update({name: both for name in group})
    return united
