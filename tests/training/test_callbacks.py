"""A NaN loss stops training with a clear message and the last good checkpoint kept."""

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.training import callbacks, run

pytestmark = pytest.mark.both_modes


def small_model():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="predictions")(inputs))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy())
    return model


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    x[8:] = np.nan  # batches 3-4 (the second epoch) are poisoned
    y = rng.integers(0, 3, 16)
    model = small_model()
    good = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                good["weights"] = [w.copy() for w in self.model.get_weights()]

    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    with pytest.raises(callbacks.TrainingDiverged, match=r"NaN or infinite at epoch 2, batch 1") as error:
        run.fit(model, data, epochs=5, steps_per_epoch=2, out_dir=str(tmp_path), backup=False,
                tensorboard=False, verbose=0, extra_callbacks=[Snapshot()])
    checkpoint = tmp_path / "checkpoint" / "last_good.weights.h5"
    assert str(checkpoint) in str(error.value)
    assert not any(np.isfinite(w).all() for w in model.get_weights())  # the model itself is ruined
    restored = small_model()
    restored.load_weights(str(checkpoint))
    for saved, kept in zip(good["weights"], restored.get_weights()):
        np.testing.assert_array_equal(saved, kept)
    assert not list(tmp_path.glob("checkpoint/*tmp*"))


def test_fit_needs_steps_and_export_is_atomic(tmp_path):
    model = small_model()
    with pytest.raises(ValueError, match="steps_per_epoch"):
        run.fit(model, None, 1, None, str(tmp_path))
    with pytest.raises(ValueError, match=r"\.keras"):
        run.export(model, str(tmp_path / "model.h5"))
    path = run.export(model, str(tmp_path / "out" / "model.keras"))
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model.keras"]
