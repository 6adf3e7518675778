"""`export.calibration`: int8 files calibrated on the float model's true activation ranges."""

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.export import calibration, tflite
from keras_muxnet.export.int8_drift import tensor_drift

layers = keras.layers


def residual_model():
    """b = conv(a) read by nothing but an Add: TFLite's calibrator logs it with the sum's values."""
    keras.utils.set_random_seed(0)
    x = layers.Input((8, 8, 3))
    a = layers.Conv2D(4, 1, name="a")(x)
    b = layers.Conv2D(4, 1, name="b")(a)
    total = layers.Add(name="sum")([a, b])
    return keras.Model(x, layers.Conv2D(2, 1, name="out")(total))


def data():
    return np.random.default_rng(0).normal(0, 1, (16, 8, 8, 3)).astype(np.float32)


def calibrated_only(model, x):
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [tflite._concrete_function(model)], model)
    converter.experimental_lower_to_saved_model = False
    tflite.configure_quantization(converter, "int8", x, (None,) + x.shape[1:])
    converter._experimental_calibrate_only = True
    return converter.convert()


def test_int8_ranges_are_the_float_ranges_where_the_calibrator_logs_another_tensor():
    model, x = residual_model(), data()
    calibrated = calibrated_only(model, x)
    observed = calibration.observed_ranges(calibrated, ([image[None]] for image in x))
    tensors = calibration._calibrated_tensors(calibration._model_object(calibrated))
    logged = {t.name.decode(): (float(t.quantization.min[0]), float(t.quantization.max[0]),
                                observed[index]) for (_, index), t in tensors.items()}
    (b_low, b_high, (b_min, b_max)), = [v for k, v in logged.items() if "/b_" in k]
    (s_low, s_high, (s_min, s_max)), = [v for k, v in logged.items() if "/sum" in k]
    assert (b_low, b_high) == pytest.approx((s_min, s_max))  # the calibrator's: the sum's range
    assert b_max - b_min < 0.8 * (s_max - s_min)  # b's own values span less
    fixed, changed = calibration.with_ranges(calibrated, observed)
    assert changed >= 1

    drifts = {d.layer: d for d in tensor_drift(model, tflite.convert(model, "int8", x), x)}
    b = drifts["b"]
    assert b.int8_range == pytest.approx(b.float_range, abs=1.5 * b.scale)  # its own range
    assert b.scale < 0.8 * drifts["sum"].scale
    assert all(d.mean_steps < 0.6 and d.clipped == 0 for d in drifts.values()), drifts


def test_average_ranges_are_the_mean_of_each_samples_extremes():
    model, x = residual_model(), data()
    x[3] *= 20.0  # one outlying sample stretches min/max, not the average
    calibrated = calibrated_only(model, x)
    extremes = calibration.observed_ranges(calibrated, ([image[None]] for image in x))
    average = calibration.observed_ranges(calibrated, ([image[None]] for image in x), average=True)
    assert average.keys() == extremes.keys()
    index = max(extremes, key=lambda i: extremes[i][1] - extremes[i][0])
    per_sample = [calibration.observed_ranges(calibrated, [[image[None]]])[index] for image in x]
    low, high = np.mean(per_sample, axis=0)
    assert average[index] == pytest.approx((min(low, 0.0), max(high, 0.0)), rel=1e-5)
    assert average[index][1] - average[index][0] < 0.5 * (extremes[index][1] - extremes[index][0])
    for i, (e_low, e_high) in extremes.items():  # inside the extremes (widened to hold 0)
        assert min(e_low, 0.0) - 1e-6 <= average[i][0] <= 0.0 <= average[i][1] <= max(e_high, 0.0) + 1e-6
