"""`keras-muxnet export`: a saved model to TFLite and ONNX from the command line, clear errors."""

import numpy as np
import pytest

from keras_muxnet.cli import main
from keras_muxnet.export import TFLiteModel, custom_ops
from muxnet_tiny import images, tiny_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = tiny_model()
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return model, path


@pytest.mark.slow
def test_export_saved_model_to_int8_tflite(saved, tmp_path, capsys):
    model, path = saved
    data = tmp_path / "calibration.npy"
    np.save(data, images(16, seed=4))
    out = tmp_path / "tiny.tflite"
    assert main(["export", str(path), "--out", str(out), "--quantize", "int8",
                 "--representative", str(data)]) == 0
    assert "CONV_2D" in capsys.readouterr().out and custom_ops(out) == []
    x = images(4)
    assert np.corrcoef(TFLiteModel(out)(x).ravel(), model.predict(x, verbose=0).ravel())[0, 1] > 0.9


def test_int8_without_calibration_data_is_an_error(saved, tmp_path, capsys):
    _, path = saved
    out = tmp_path / "tiny.tflite"
    assert main(["export", str(path), "--out", str(out), "--quantize", "int8"]) == 2
    assert "representative_data" in capsys.readouterr().err and not out.exists()


def test_unwritable_output_is_an_error_before_loading(tmp_path, capsys):
    assert main(["export", "muxnet_m", "--out", str(tmp_path / "no" / "m.tflite")]) == 2
    assert "does not exist" in capsys.readouterr().err
