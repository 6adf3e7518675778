import numpy as np
import pytest

from keras_muxnet._keras import ON_TENSORFLOW, keras
from keras_muxnet.layers import ChannelMux
from tests.helpers import assert_close, run_tflite, save_and_reload, tflite_bytes, to_numpy

pytestmark = [pytest.mark.both_modes, pytest.mark.all_backends]


def test_interleaves_processed_and_passed_channels():
    x = np.random.rand(2, 5, 5, 8).astype("float32")
    inner = keras.layers.Conv2D(4, 3, padding="same")
    out = to_numpy(ChannelMux(inner, leave_out_ratio=0.5)(x))
    processed = to_numpy(inner(x[..., :4]))
    assert_close(out[..., 0::2], processed, 1e-6)
    np.testing.assert_array_equal(out[..., 1::2], x[..., 4:])


def test_leave_out_ratio_counts_the_passed_channels():
    x = np.random.rand(1, 3, 3, 8).astype("float32")
    inner = keras.layers.Conv2D(6, 1)  # 8 * (1 - 0.25) = 6 processed, 2 passed
    out = to_numpy(ChannelMux(inner, leave_out_ratio=0.25)(x))
    concat = np.concatenate([to_numpy(inner(x[..., :6])), x[..., 6:]], axis=-1)
    assert_close(out, concat.reshape(1, 3, 3, 2, 4).transpose(0, 1, 2, 4, 3).reshape(1, 3, 3, 8), 1e-6)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5])
def test_ratio_outside_open_interval(ratio):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        ChannelMux(keras.layers.Activation("relu"), leave_out_ratio=ratio)


def test_ratio_leaving_no_channel_on_one_side():
    layer = ChannelMux(keras.layers.Activation("relu"), leave_out_ratio=0.9)
    with pytest.raises(ValueError, match="processes 0 and passes 4"):
        layer.build((None, 3, 3, 4))


def test_wrapped_layer_must_keep_the_shape():
    layer = ChannelMux(keras.layers.Conv2D(3, 1), leave_out_ratio=0.5)
    with pytest.raises(ValueError, match="must keep the shape"):
        layer.build((None, 3, 3, 8))


def test_fits_saves_reloads_and_converts(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 8))
    x = ChannelMux(keras.layers.Conv2D(4, 3, padding="same"), 0.5, name="mux")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    model.compile(optimizer="adam", loss="mse")
    data = np.random.rand(16, 6, 6, 8).astype("float32")
    history = model.fit(data, np.ones((16, 1), "float32"), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    reloaded = save_and_reload(model, tmp_path)
    assert reloaded.get_layer("mux").leave_out_ratio == 0.5
    assert_close(reloaded.predict(data, verbose=0), model.predict(data, verbose=0), 1e-6)
    if ON_TENSORFLOW:  # TFLite export is TensorFlow's
        out, ops = run_tflite(tflite_bytes(model), data[:1])
        assert_close(out, model.predict(data[:1], verbose=0), 1e-5)
        assert not any(op.startswith("Flex") for op in ops)
