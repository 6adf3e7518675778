"""Folding channel shuffles into neighbouring layers keeps the function and drops the copies."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export import channel_order, op_counts, rewrite, to_tflite
from keras_muxnet.layers import ChannelShuffle
from keras_muxnet.models import MUXNet
from muxnet_tiny import images, randomize_batchnorm, tiny_model

pytestmark = pytest.mark.both_modes


@pytest.mark.parametrize("channels,groups", [(8, 2), (12, 3), (10, 2)])
def test_shuffled_position_is_where_the_layer_moves_a_channel(channels, groups):
    x = np.arange(channels, dtype=np.float32).reshape(1, 1, 1, channels)
    moved = np.asarray(ChannelShuffle(groups)(x)).reshape(-1).astype(int)
    expected = np.empty(channels, int)
    expected[channel_order.shuffled_position(np.arange(channels), channels, groups)] = np.arange(channels)
    assert moved.tolist() == expected.tolist()


def test_runs_of_consecutive_positions():
    assert channel_order.runs([0, 1, 2, 7, 8, 10]) == [(0, 3), (7, 9), (10, 11)]


def test_tiny_model_folds_only_the_shuffle_that_feeds_a_1x1_conv():
    """Its first mux block feeds the next stage's expansion; its second feeds a residual block,
    whose shortcut needs the channels in order: that shuffle stays."""
    model = tiny_model()
    chains = channel_order.find_chains(model)
    assert [[u.shuffle.name for u in chain] for chain, _ in chains] == [["block2b_shuffle"]]
    fast, _ = rewrite.for_inference(model)
    assert type(fast.get_layer("block2b_shuffle")) is rewrite.FoldedAway
    assert type(fast.get_layer("block3b_shuffle")) is ChannelShuffle
    x = images(3)
    np.testing.assert_allclose(fast.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-4, rtol=0)


@pytest.mark.slow
def test_muxnet_m_chains_fold_completely_and_export_without_transposes(tmp_path):
    """m's eleven mux blocks form five chains (the longest three blocks): every shuffle folds,
    splits after the first of a chain become gathers, the outputs stay the same."""
    model = randomize_batchnorm(MUXNet("muxnet_m", weights=None, input_shape=(64, 64, 3),
                                       classifier_activation=None))
    chains = channel_order.find_chains(model)
    assert sorted(len(chain) for chain, _ in chains) == [2, 2, 2, 2, 3]
    fast, _ = rewrite.for_inference(model)
    assert not [l for l in fast.layers if type(l) is ChannelShuffle]
    assert len([l for l in fast.layers if type(l) is channel_order.GatherSplit]) == 11 - 5
    x = images(2, 64)
    np.testing.assert_allclose(fast.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-4, rtol=0)
    counts = op_counts(to_tflite(model, tmp_path / "m.tflite"))
    assert "TRANSPOSE" not in counts and "RESHAPE" not in counts, counts


def test_gather_split_saves_and_reloads(tmp_path):
    inputs = keras.Input((4, 4, 6))
    parts = channel_order.GatherSplit([[(0, 2), (4, 5)], [(2, 4), (5, 6)]], name="gather")(inputs)
    model = keras.Model(inputs, keras.layers.Concatenate()(parts))
    x = np.arange(6, dtype=np.float32) * np.ones((1, 4, 4, 6), np.float32)
    assert np.asarray(model(x))[0, 0, 0].tolist() == [0, 1, 4, 2, 3, 5]
    model.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    assert np.asarray(again(x))[0, 0, 0].tolist() == [0, 1, 4, 2, 3, 5]
