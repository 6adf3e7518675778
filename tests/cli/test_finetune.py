"""`keras-muxnet finetune` on real data (scikit-learn's digits), end to end."""

import json
import os
import subprocess
import sys

import pytest

from keras_muxnet.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_missing_dataset_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["finetune", "--dataset", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_digits_one_epoch_writes_json_and_a_reloadable_model(tmp_path):
    out_json, run_dir = tmp_path / "result.json", tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "keras_muxnet.cli", "finetune", "--dataset", "digits",
                           "--model", "muxnet_xs", "--size", "32", "--epochs", "1", "--batch-size", "128",
                           "--out", str(run_dir), "--json", str(out_json)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "11/11" in done.stdout  # Keras' progress bar: 1437 images // 128
    result = json.loads(out_json.read_text())
    assert result["epochs"] == 1 and result["seconds"] > 0 and result["val_images"] == 360
    assert 0.0 <= result["val_accuracy"] <= 1.0
    assert f"held-out accuracy {result['val_accuracy']:.4f}" in done.stdout
    assert os.path.exists(result["model_path"]) and result["model_path"].endswith("model.keras")
