"""`keras-muxnet detect`: train on digit scenes end to end, then draw a saved detector's boxes."""

import json

import numpy as np
import pytest
from PIL import Image

from keras_muxnet.cli import main


def test_bad_model_name_and_missing_image_are_clear_errors(tmp_path, capsys):
    assert main(["detect", "train", "--model", "muxnet_xs"]) == 2
    assert "--model must name an SSDLite detector" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "none.png"), "--model", "x.keras"]) == 2
    assert "no image at" in capsys.readouterr().err
    assert main(["detect", "train", "--int8-check", "-1"]) == 2
    assert "--int8-check takes a number of calibration scenes" in capsys.readouterr().err


@pytest.mark.slow
def test_train_writes_json_and_detector_then_draws(tmp_path):
    out_json, run_dir = tmp_path / "result.json", tmp_path / "run"
    assert main(["detect", "train", "--dataset", "digit-scenes", "--model", "ssdlite_muxnet_xs",
                 "--size", "64", "--epochs", "1", "--train-scenes", "16", "--heldout-scenes", "4",
                 "--batch-size", "8", "--int8-check", "4", "--json", str(out_json),
                 "--out", str(run_dir)]) == 0
    result = json.loads(out_json.read_text())
    assert {"map50", "map", "voc07_map50", "epochs", "seconds", "int8_map50", "int8_map"} <= set(result)
    assert 0.0 <= result["map"] <= result["map50"] <= 1.0 and result["epochs"] == 1
    assert 0.0 <= result["int8_map"] <= result["int8_map50"] <= 1.0
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 120, 3), np.uint8)).save(photo)
    picture = tmp_path / "boxes.png"
    assert main(["detect", str(photo), "--model", str(run_dir / "detector.keras"),
                 "--out", str(picture), "--score-threshold", "0"]) == 0
    drawn = np.asarray(Image.open(picture))
    assert drawn.shape == (80, 120, 3)
    assert np.any(drawn != np.asarray(Image.open(photo)))  # boxes were drawn


def test_benchmark_rejects_a_name_that_is_not_a_detector(capsys):
    assert main(["detect", "benchmark", "muxnet_m", "--vs", "ssdlite_mobilenet_v2"]) == 2
    assert "detector names start with 'ssdlite_'" in capsys.readouterr().err
