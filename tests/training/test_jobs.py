"""The ImageNet job end to end on real photos in TFRecords, and the scripts' command lines."""

import importlib.util
import os

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.training import data, jobs, recipes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "training", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.both_modes
def test_imagenet_job_trains_logs_checkpoints_and_exports_ema(tmp_path, photos, tiny_spec):
    data.write_tfrecords(str(tmp_path / "train-0"), photos, range(6))
    out = tmp_path / "run"
    recipe = recipes.ImageNetRecipe(ema_momentum=0.5, warmup_epochs=1)
    model, history = jobs.train_imagenet(tiny_spec, str(tmp_path / "train-*"), str(tmp_path / "train-*"), str(out),
                                         batch_size_per_replica=2, epochs=2, train_images=4,
                                         num_classes=6, image_size=32, seed=0, recipe=recipe, verbose=0)
    assert len(history.history["loss"]) == 2 and "val_top5_accuracy" in history.history
    assert (out / "checkpoint" / "last_good.weights.h5").exists()
    assert any(out.joinpath("logs").rglob("*tfevents*"))
    backup = out / "backup" / "worker_0"
    assert not backup.exists() or not any(backup.rglob("*.index"))  # the backup is cleared at the end
    optimizer = model.optimizer
    for variable, average in zip(optimizer._trainable_variables if hasattr(optimizer, "_trainable_variables")
                                 else model.trainable_variables, optimizer._model_variables_moving_average):
        np.testing.assert_array_equal(np.asarray(variable), np.asarray(average))  # fit ended on EMA weights
    exported = keras.models.load_model(str(out / "model.keras"))
    for a, b in zip(exported.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_scripts_take_the_documented_8_gpu_flags():
    imagenet = load_script("imagenet").parse_args(
        ["--model", "muxnet_m", "--train", "/data/train-*", "--val", "/data/validation-*", "--out", "runs/m",
         "--batch-size", "32", "--label-offset", "1", "--mixed-precision"])
    assert imagenet.batch_size * 8 == 256 and imagenet.learning_rate == 0.016 and imagenet.ema == 0.9998
    assert imagenet.epochs == 350 and imagenet.image_size == 224
    finetune = load_script("finetune").parse_args(
        ["--train", "/data/cifar10/train", "--num-classes", "10", "--train-images", "50000", "--out", "runs/c10"])
    assert finetune.learning_rate == 0.01 and finetune.epochs == 150 and finetune.weights == "imagenet"
