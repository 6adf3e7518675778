"""Channel bookkeeping shared by the layers: how to split a width, and the 2-group shuffle."""

from keras_muxnet._keras import keras, register
from keras_muxnet.layers import backend_ops


def split_sizes(channels, groups):
    """Split `channels` into `groups` equal parts, the remainder going to the first part.

    This is the rule of the authors' code for mixed kernels and spatial multiplexing
    (448 into 5 -> [92, 89, 89, 89, 89]).
    """
    if groups < 1 or channels < groups:
        raise ValueError(f"cannot split {channels} channels into {groups} groups")
    sizes = [channels // groups] * groups
    sizes[0] += channels - sum(sizes)
    return sizes


def processed_channels(channels, leave_out_ratio):
    """How many of `channels` a channel-multiplexed block processes.

    The paper's leave-out ratio l is the share of channels that is *not* processed; the
    authors' code calls 1 - l `split_ratio` and processes the first int(C * split_ratio)
    channels. The rounding to 6 decimals keeps float noise (40 * (1 - 0.7) = 11.999...)
    from dropping a channel.
    """
    if not 0.0 < leave_out_ratio < 1.0:
        raise ValueError(f"leave_out_ratio must lie strictly between 0 and 1, got {leave_out_ratio}")
    processed = int(round(channels * (1.0 - leave_out_ratio), 6))
    if processed < 1 or processed >= channels:
        raise ValueError(
            f"leave_out_ratio={leave_out_ratio} on {channels} channels processes {processed} and "
            f"passes {channels - processed}: both parts need at least one channel")
    return processed


def split_channels(x, sizes):
    """Consecutive channel slices of the given sizes.

    Slices, not a split op: TFLite turns a split of unequal sizes into SPLIT_V, which its XNNPACK
    backend does not take, so every split would cut the graph into separately run pieces and copy
    on TFLite's slow reference kernel. STRIDED_SLICE stays inside XNNPACK. Their gradient is one
    concatenation (`backend_ops.channel_slices`).
    """
    if len(sizes) == 1:
        return [x]
    return backend_ops.channel_slices(x, sizes)


def shuffle_channels(x, groups):
    """Channel shuffle of an NHWC tensor with rank-3 ops and static channel counts.

    Channel i * (C / groups) + j moves to j * groups + i: for two groups, the first half and the
    second half are interleaved, as the authors' NCHW view/permute does.
    """
    channels = x.shape[-1]
    y = backend_ops.reshape(x, [-1, groups, channels // groups])
    y = backend_ops.transpose(y, [0, 2, 1])
    return backend_ops.reshape_like(y, x)


@register
class ChannelSplit(keras.layers.Layer):
    """Split the channel axis into consecutive parts of the given sizes; returns a list."""

    def __init__(self, sizes, **kwargs):
        super().__init__(**kwargs)
        self.sizes = tuple(int(s) for s in sizes)
        if any(s < 1 for s in self.sizes):
            raise ValueError(f"ChannelSplit sizes must be positive, got {list(self.sizes)}")

    def _check(self, channels):
        if channels is not None and channels != sum(self.sizes):
            raise ValueError(
                f"ChannelSplit '{self.name}' splits {sum(self.sizes)} channels {list(self.sizes)}, "
                f"but its input has {channels}")

    def build(self, input_shape):
        self._check(input_shape[-1])
        super().build(input_shape)

    def call(self, inputs):
        return split_channels(inputs, self.sizes)

    def compute_output_shape(self, input_shape):
        self._check(input_shape[-1])
        return [tuple(input_shape[:-1]) + (s,) for s in self.sizes]

    def get_config(self):
        return {**super().get_config(), "sizes": list(self.sizes)}


@register
class ChannelShuffle(keras.layers.Layer):
    """ShuffleNet channel shuffle with `groups` groups (MUXNet uses 2: an interleave)."""

    def __init__(self, groups=2, **kwargs):
        super().__init__(**kwargs)
        self.groups = int(groups)
        if self.groups < 1:
            raise ValueError(f"ChannelShuffle groups must be >= 1, got {groups}")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % self.groups:
            raise ValueError(
                f"ChannelShuffle '{self.name}' needs a static channel count divisible by "
                f"{self.groups}, got {channels}")
        super().build(input_shape)

    def call(self, inputs):
        return shuffle_channels(inputs, self.groups)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}
