import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.architectures import MUXNetSpec
from keras_muxnet.search.digit_variants import Variants
from keras_muxnet.search.evaluation import (ShortEvaluation, accuracy, kendall_tau, seed_everything,
                                            stability)


def tiny_model(width=8):
    """A conv + BatchNorm classifier that traces in a second (the recipe, not MUXNet, is tested)."""
    inputs = keras.layers.Input(shape=(8, 8, 3))
    x = keras.layers.Conv2D(width, 3, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization(momentum=0.99)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def data(n=96, seed=0):
    """Three classes told apart by the mean brightness of the image."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(0, 20, (n, 8, 8, 3)) + 60 * y[:, None, None, None]).astype("float32")
    return x, y


def test_the_recipe_is_checked_and_decays_to_zero():
    recipe = ShortEvaluation(epochs=2, batch_size=32, learning_rate=0.2, warmup=0.25)
    assert recipe.steps(100) == 6  # whole batches only
    schedule = recipe.schedule(100)
    rates = [float(schedule(step)) for step in (0, 2, 6)]
    assert rates[0] == 0.0 and rates[1] == pytest.approx(0.2) and rates[2] == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="epochs, batch_size and recalibration_batches must be positive"):
        ShortEvaluation(epochs=0)
    with pytest.raises(ValueError, match="need learning_rate > 0"):
        ShortEvaluation(momentum=1.0)
    with pytest.raises(ValueError, match="at least batch_size=64 training images"):
        ShortEvaluation().score(tiny_model(), *data(10), validation=data(10))


@pytest.mark.slow
def test_a_seed_repeats_exactly_and_batch_norm_is_recalibrated():
    x, y = data()
    validation = data(60, seed=1)
    recipe = ShortEvaluation(epochs=2, batch_size=16, learning_rate=0.05, recalibration_batches=6)
    scores, weights = [], []
    for _ in range(2):
        seed_everything(3)
        model = tiny_model()
        scores.append(recipe.score(model, x, y, validation, seed=3)["val_accuracy"])
        weights.append([np.asarray(w) for w in model.get_weights()])
    assert scores[0] == scores[1] > 0.6  # learnt, and the same run twice
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    # The moving mean is the average of the batch means over all 96 images (6 batches of 16):
    # momentum 0.99 alone would have left it near its start after 12 steps.
    conv = keras.Model(model.inputs, model.layers[1].output)
    mean = np.asarray(conv(x, training=False)).mean(axis=(0, 1, 2))
    norm = model.layers[2]
    assert isinstance(norm, keras.layers.BatchNormalization) and norm.momentum == 0.99
    np.testing.assert_allclose(np.asarray(norm.moving_mean), mean, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_variants_are_trained_on_and_scored_the_same_for_every_seed():
    x, y = data(64)
    validation = data(20, seed=1)
    recipe = ShortEvaluation(epochs=2, batch_size=16, learning_rate=0.05, recalibration_batches=2,
                             train_variants=Variants(copies=2), held_out_variants=Variants(copies=3, seed=5))
    assert recipe.steps(len(x)) == 8  # an epoch is still one pass's worth of steps
    results = []
    for _ in range(2):
        seed_everything(1)
        model = tiny_model()
        results.append(recipe.score(model, x, y, validation, seed=1))
    assert all(r["held_out_images"] == 60 for r in results)  # 3 copies of the 20 held out
    assert results[0]["val_accuracy"] == results[1]["val_accuracy"]  # a seed repeats exactly
    held_out, labels = Variants(copies=3, seed=5).apply(*validation)
    assert accuracy(model, held_out, labels) == results[1]["val_accuracy"]  # what was scored


def test_accuracy_and_kendall_tau():
    model = tiny_model()
    x, y = data(10)
    predicted = np.argmax(np.asarray(model(x, training=False)), axis=-1)
    assert accuracy(model, x, predicted, batch_size=3) == 1.0
    assert accuracy(model, x, (predicted + 1) % 3) == 0.0
    assert kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


@pytest.mark.slow
def test_stability_reports_tau_and_differences_of_two_seeds():
    # Specs only name the candidates here (never built as MUXNets): tiny_model(width) stands in.
    candidates = [(f"width{w}", MUXNetSpec(name=f"width{w}", stages=((f"w{w}",),))) for w in (1, 4, 16)]
    recipe = ShortEvaluation(epochs=1, batch_size=16, learning_rate=0.05, recalibration_batches=2)
    report = stability(lambda spec: tiny_model(int(spec.name[len("width"):])), candidates,
                       (data(), data(60, seed=1)), recipe,
                       seeds=(0, 1), log=lambda *a: None)
    assert report["n_candidates"] == 3 and -1 <= report["kendall_tau"] <= 1
    diffs = [abs(r["val_accuracy_seed0"] - r["val_accuracy_seed1"]) * 100 for r in report["rows"]]
    assert report["median_abs_diff"] == pytest.approx(np.median(diffs))
    assert report["validation_images"] == report["scored_images"] == 60
    assert report["evaluation"]["epochs"] == 1
    with pytest.raises(ValueError, match="two different seeds"):
        stability(None, candidates, None, recipe, seeds=(1, 1))
