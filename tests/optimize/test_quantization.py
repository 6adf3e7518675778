"""Quantization-aware training of MUXNet with tfmot, end to end to a full-integer TFLite file."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.export import TFLiteModel, custom_ops, op_counts, to_tflite
from keras_muxnet.optimize import KerasModeError, quantize_aware, quantize_scope
from muxnet_tiny import images, tiny_model


def test_keras3_mode_says_tfmot_needs_tf_keras():
    with pytest.raises(KerasModeError, match="TF_USE_LEGACY_KERAS=1"):
        quantize_aware(tiny_model())


@pytest.mark.tf_keras_only
@pytest.mark.slow
def test_qat_trains_saves_loads_and_exports_full_integer(tmp_path):
    model = tiny_model(classifier_activation="softmax")
    qat = quantize_aware(model)
    assert any("quant" in type(l).__name__.lower() for l in qat.layers)
    x, y = images(64), np.arange(64) % 10
    qat.compile("adam", "sparse_categorical_crossentropy")
    history = qat.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "qat.h5"
    qat.save(path)
    with quantize_scope():
        reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(x[:4], verbose=0), qat.predict(x[:4], verbose=0),
                               atol=1e-5)
    tflite = to_tflite(qat, tmp_path / "qat.tflite", quantize="int8",
                       representative_data=x[:16], int8_io=True)
    assert custom_ops(tflite) == []
    assert op_counts(tflite).get("DEQUANTIZE", 0) <= 1  # int8 kernels throughout
    runner = TFLiteModel(tflite)
    assert runner.input_dtype == np.int8 and runner.output["dtype"] == np.int8
    probabilities = runner(x)  # barely trained on noise: check it computes a softmax, not accuracy
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=0.05)
