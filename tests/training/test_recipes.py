"""The recipes' optimizer, weight decay, head, freezing and multi-label mode on a tiny MUXNet."""

import numpy as np
import pytest

from keras_muxnet._keras import LEGACY_KERAS, keras
from keras_muxnet.training import recipes

pytestmark = pytest.mark.both_modes


def test_imagenet_optimizer_is_the_papers():
    recipe = recipes.ImageNetRecipe()
    opt = recipe.optimizer(steps_per_epoch=100, global_batch_size=256)
    assert isinstance(opt, keras.optimizers.RMSprop)
    assert (opt.rho, opt.momentum, opt.epsilon) == (0.9, 0.9, 1e-3)
    assert opt.use_ema and opt.ema_momentum == pytest.approx(0.9998)
    assert float(opt.learning_rate) == 0.0 if not LEGACY_KERAS else True  # warm-up starts at 0
    assert recipe.weight_decay == 1e-5 and recipe.dropout_rate == 0.2


def test_weight_decay_is_l2_on_kernels_only(tiny_spec):
    model = recipes.ImageNetRecipe().build_model(tiny_spec, num_classes=5, image_size=32)
    kernels = [w for w in model.trainable_weights if "kernel" in w.name.split("/")[-1]]
    covered = recipes.add_weight_decay(model, 1e-3)
    assert covered == len(kernels) and covered < len(model.trainable_weights)
    assert recipes.add_weight_decay(model, 1e-3) == covered  # idempotent
    penalty = float(sum(np.asarray(loss) for loss in model.losses))
    expected = 0.5 * 1e-3 * sum(float(np.sum(np.square(w.numpy()))) for w in kernels)
    assert penalty == pytest.approx(expected, rel=1e-4)


def test_transfer_head_freezing_and_optimizer(tiny_spec):
    recipe = recipes.TransferRecipe(image_size=32)
    model = recipe.build_model(tiny_spec, num_classes=7, weights=None, freeze_backbone=True)
    assert model.output_shape == (None, 7)
    trainable = {w.name.split("/")[-1].split(":")[0] for w in model.trainable_weights}
    assert len(model.trainable_weights) == 2 and {"kernel", "bias"} <= trainable  # the new head only
    opt = recipe.optimizer(steps_per_epoch=10)
    assert isinstance(opt, keras.optimizers.SGD) and opt.momentum == 0.9 and opt.clipnorm == 5.0
    assert float(opt.learning_rate) == pytest.approx(0.01)
    recipes.set_backbone_trainable(model, True)
    assert len(model.trainable_weights) > 20


def test_multi_label_trains_with_sigmoid_and_auroc(tiny_spec):
    recipe = recipes.TransferRecipe(image_size=32, multi_label=True, epochs=1)
    model = recipe.build_model(tiny_spec, num_classes=3, weights=None)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    recipe.compile(model, steps_per_epoch=2, num_classes=3)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    y = (rng.uniform(size=(8, 3)) > 0.5).astype("float32")
    logs = model.fit(x, y, batch_size=4, epochs=1, verbose=0).history
    assert "auroc" in logs and 0.0 <= logs["auroc"][0] <= 1.0 and np.isfinite(logs["loss"][0])


def test_synchronize_batch_norm(tiny_spec):
    model = recipes.ImageNetRecipe().build_model(tiny_spec, num_classes=5, image_size=32)
    count = recipes.synchronize_batch_norm(model)
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert count == len(bns) > 5 and all(l.synchronized for l in bns)
