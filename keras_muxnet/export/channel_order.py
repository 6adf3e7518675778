"""Channel shuffles folded into the layers around them at export.

A channel-multiplexed block ends by interleaving its processed and passed channels (a 2-group
channel shuffle). TFLite runs that as reshape -> transpose -> reshape: three copies of the
tensor for a fixed permutation. Nothing downstream needs the channels physically in that order:

* a 1x1 convolution reads its input channels in any order if its kernel rows are permuted;
* the next block's channel split can pick its two parts out of the unshuffled tensor directly
  (each part a concatenation of a few contiguous slices, copies it made anyway);
* inside that block, the 1x1 expansion reads the permuted part, and the projection writes its
  output channels in the same permuted order, so the residual addition still adds matching
  channels; its own output is the next unshuffled tensor.

So along a chain of such blocks that ends in a 1x1 convolution (in MUXNet: the expansion of the
next stage's first block), every shuffle disappears and the permutations move into weights. This
module tracks, for each tensor of the chain, which logical channel every stored channel holds.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras, register
from keras_muxnet.export.graph import Graph, inputs_of, is_kind, is_pointwise, producer
from keras_muxnet.layers.channels import ChannelShuffle, ChannelSplit

layers = keras.layers


@register
class GatherSplit(layers.Layer):
    """Split channels into parts, each the concatenation of contiguous runs [(start, stop), ...]."""

    def __init__(self, parts, **kwargs):
        super().__init__(**kwargs)
        self.parts = [[(int(a), int(b)) for a, b in runs] for runs in parts]

    def call(self, inputs):
        outputs = []
        for runs in self.parts:
            pieces = [inputs[..., a:b] for a, b in runs]
            outputs.append(pieces[0] if len(pieces) == 1 else tf.concat(pieces, axis=-1))
        return outputs

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[:-1]) + (sum(b - a for a, b in runs),) for runs in self.parts]

    def get_config(self):
        return {**super().get_config(), "parts": [[list(run) for run in runs]
                                                  for runs in self.parts]}


@dataclasses.dataclass
class MuxUnit:
    """split -> [expand 1x1 ... project 1x1 -> BN] + shortcut -> concat with the rest -> shuffle."""

    split: object
    expand_conv: object
    project_conv: object
    project_bn: object
    concat: object
    shuffle: object


def _made_by(tensor, kind):
    layer = producer(tensor)
    return layer if is_kind(layer, kind) else None


def _unit(graph, split):
    """The MuxUnit starting at `split`, or None if the layers around it do not match."""
    outputs = split.output
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        return None
    processed, passed = outputs
    readers = graph.readers(processed)
    expand = [l for l in readers if is_pointwise(l)]
    add = [l for l in readers if type(l) is layers.Add]
    if len(readers) != 2 or len(expand) != 1 or len(add) != 1:
        return None
    add = add[0]
    add_inputs = inputs_of(add)
    if len(add_inputs) != 2 or add_inputs[1] is not processed:
        return None
    project_bn = _made_by(add_inputs[0], layers.BatchNormalization)
    if project_bn is None or len(graph.readers(add_inputs[0])) != 1:
        return None
    project_input = inputs_of(project_bn)[0]
    project = _made_by(project_input, layers.Conv2D)
    if project is None or not is_pointwise(project) or len(graph.readers(project_input)) != 1:
        return None
    concat = graph.only_reader(add.output, layers.Concatenate)
    if concat is None or graph.only_reader(passed, layers.Concatenate) is not concat:
        return None
    if [id(t) for t in inputs_of(concat)] != [id(add.output), id(passed)] \
            or concat.axis not in (-1, 3):
        return None
    shuffle = graph.only_reader(concat.output, ChannelShuffle)
    if shuffle is None:
        return None
    return MuxUnit(split, expand[0], project, project_bn, concat, shuffle)


def find_chains(model):
    """Chains of MuxUnits, each feeding the next's split, that end in a single 1x1 convolution.

    Returns [(units, final_conv)]. Chains ending anywhere else are left alone.
    """
    graph = Graph(model)
    units = {}
    for layer in model.layers:
        if type(layer) is ChannelSplit:
            unit = _unit(graph, layer)
            if unit is not None:
                units[id(layer)] = unit
    following = {}
    for unit in units.values():
        reader = graph.only_reader(unit.shuffle.output, ChannelSplit)
        if reader is not None and id(reader) in units:
            following[id(unit.split)] = units[id(reader)]
    starts = set(units) - {id(u.split) for u in following.values()}
    chains = []
    for start in starts:
        chain = [units[start]]
        while id(chain[-1].split) in following:
            chain.append(following[id(chain[-1].split)])
        readers = graph.readers(chain[-1].shuffle.output)
        if len(readers) == 1 and is_pointwise(readers[0]):
            chains.append((chain, readers[0]))
    return chains


def shuffled_position(channel, channels, groups):
    """Where ChannelShuffle(groups) moves a channel: i * (C / g) + j -> j * g + i."""
    group_size = channels // groups
    return (channel % group_size) * groups + channel // group_size


def runs(positions):
    """Sorted positions as maximal runs of consecutive ones: [0, 1, 2, 7, 8] -> [(0, 3), (7, 9)]."""
    found = []
    for p in positions:
        if found and found[-1][1] == p:
            found[-1] = (found[-1][0], p + 1)
        else:
            found.append((p, p + 1))
    return found


def fold(chain, final_conv, weights_of):
    """({layer name: new weights}, {split name: GatherSplit}, [names of the shuffles to drop]).

    `weights_of(layer)` gives the layer's current weights (other rewrites may have changed them).
    `stored` holds, for each stored channel of the current tensor, the logical channel it is.
    """
    new_weights, replacements, dropped = {}, {}, []
    stored = None  # the chain's input is in natural order
    for unit in chain:
        sizes = unit.split.sizes
        if stored is None:
            parts = [np.arange(s) for s in sizes]
        else:
            bounds = np.cumsum((0,) + tuple(sizes))
            positions = [np.flatnonzero((stored >= lo) & (stored < hi))
                         for lo, hi in zip(bounds[:-1], bounds[1:])]
            parts = [stored[p] - lo for p, lo in zip(positions, bounds[:-1])]
            replacements[unit.split.name] = GatherSplit([runs(p.tolist()) for p in positions],
                                                        name=unit.split.name)
            order = parts[0]  # the processed part is stored in this order from here on
            expand = weights_of(unit.expand_conv)
            new_weights[unit.expand_conv.name] = [expand[0][:, :, order, :]] + expand[1:]
            project = weights_of(unit.project_conv)
            new_weights[unit.project_conv.name] = [project[0][..., order]] + [
                b[order] for b in project[1:]]
            new_weights[unit.project_bn.name] = [w[order] for w in weights_of(unit.project_bn)]
        concatenated = np.concatenate([parts[0], sizes[0] + parts[1]])
        channels = len(concatenated)
        stored = shuffled_position(concatenated, channels, unit.shuffle.groups)
        dropped.append(unit.shuffle.name)
    final = weights_of(final_conv)
    new_weights[final_conv.name] = [final[0][:, :, stored, :]] + final[1:]
    return new_weights, replacements, dropped
