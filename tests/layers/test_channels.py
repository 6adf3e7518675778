import numpy as np
import pytest

from keras_muxnet._keras import ON_TENSORFLOW, keras
from keras_muxnet.layers import ChannelShuffle, ChannelSplit
from keras_muxnet.layers.channels import processed_channels
from tests.helpers import run_tflite, save_and_reload, tflite_bytes, to_numpy

pytestmark = [pytest.mark.both_modes, pytest.mark.all_backends]


def test_two_group_shuffle_interleaves_halves():
    x = np.arange(8, dtype="float32").reshape(1, 1, 1, 8)
    out = to_numpy(ChannelShuffle(2)(x)).ravel()
    np.testing.assert_array_equal(out, [0, 4, 1, 5, 2, 6, 3, 7])


def test_shuffle_matches_the_nchw_view_permute_of_the_authors():
    x = np.random.rand(2, 3, 5, 12).astype("float32")
    nchw = x.transpose(0, 3, 1, 2)
    ref = nchw.reshape(2, 3, 4, 3, 5).transpose(0, 2, 1, 3, 4).reshape(2, 12, 3, 5)
    np.testing.assert_array_equal(to_numpy(ChannelShuffle(3)(x)), ref.transpose(0, 2, 3, 1))


def test_shuffle_needs_divisible_channels():
    with pytest.raises(ValueError, match="divisible by 2"):
        ChannelShuffle(2).build((None, 4, 4, 7))


def test_split_sizes_must_add_up():
    with pytest.raises(ValueError, match=r"splits 6 channels \[2, 4\], but its input has 8"):
        ChannelSplit([2, 4]).build((None, 4, 4, 8))


@pytest.mark.parametrize("ratio, processed", [(0.5, 12), (0.25, 18), (0.7, 7)])
def test_processed_channels(ratio, processed):
    assert processed_channels(24, ratio) == processed


def test_processed_channels_rejects_empty_sides():
    with pytest.raises(ValueError, match="both parts need at least one channel"):
        processed_channels(4, 0.9)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        processed_channels(4, 1.0)


def test_split_and_shuffle_save_and_convert(tmp_path):
    inputs = keras.Input((4, 4, 8))
    a, b = ChannelSplit([4, 4], name="split")(inputs)
    merged = keras.layers.Concatenate()([keras.layers.Activation("relu")(a), b])
    model = keras.Model(inputs, ChannelShuffle(2, name="shuffle")(merged))
    x = np.random.randn(1, 4, 4, 8).astype("float32")
    reloaded = save_and_reload(model, tmp_path)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    if ON_TENSORFLOW:  # TFLite export is TensorFlow's
        out, ops = run_tflite(tflite_bytes(model), x)
        np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-6)
        assert not any(op.startswith("Flex") for op in ops)


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the concatenated gradient is TensorFlow's")
def test_split_gradient_is_the_parts_gradients_side_by_side():
    import tensorflow as tf

    from keras_muxnet.layers.channels import split_channels

    x = tf.constant(np.random.RandomState(0).randn(2, 3, 3, 7), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        first, unused, last = split_channels(x, [3, 2, 2])
        loss = tf.reduce_sum(first ** 2) + 3.0 * tf.reduce_sum(last)
    gradient = tape.gradient(loss, x).numpy()
    np.testing.assert_array_equal(first.numpy(), x.numpy()[..., :3])
    np.testing.assert_array_equal(unused.numpy(), x.numpy()[..., 3:5])
    np.testing.assert_allclose(gradient[..., :3], 2.0 * x.numpy()[..., :3], rtol=1e-6)
    np.testing.assert_array_equal(gradient[..., 3:5], 0.0)
    np.testing.assert_array_equal(gradient[..., 5:], 3.0)
