"""Pruning with tfmot: train, strip back to the original architecture, keep the zeros in TFLite."""

import numpy as np
import pytest

from keras_muxnet.export import TFLiteModel, to_tflite
from keras_muxnet.optimize import KerasModeError, kernel_sparsity, prune, pruning_callbacks, strip
from muxnet_tiny import images, tiny_model


def test_keras3_mode_says_tfmot_needs_tf_keras():
    with pytest.raises(KerasModeError, match="tf_keras"):
        prune(tiny_model())


@pytest.mark.tf_keras_only
def test_bad_sparsity():
    with pytest.raises(ValueError, match="target_sparsity"):
        prune(tiny_model(), target_sparsity=1.0)


@pytest.mark.tf_keras_only
@pytest.mark.slow
def test_prune_train_strip_and_export_keep_sparsity(tmp_path):
    model = tiny_model(classifier_activation="softmax")
    pruned = prune(model, target_sparsity=0.5, begin_step=0, end_step=4, frequency=1)
    x, y = images(64), np.arange(64) % 10
    pruned.compile("adam", "sparse_categorical_crossentropy")
    pruned.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=pruning_callbacks())
    stripped = strip(pruned)
    assert [(type(l), l.name) for l in stripped.layers] == [(type(l), l.name) for l in model.layers]
    assert [w.shape for w in stripped.weights] == [w.shape for w in model.weights]
    sparsity = kernel_sparsity(stripped)
    assert min(sparsity.values()) >= 0.45, sparsity
    path = to_tflite(stripped, tmp_path / "pruned.tflite")
    runner = TFLiteModel(path)
    np.testing.assert_allclose(runner(x[:4]), stripped.predict(x[:4], verbose=0), atol=1e-4)
    # The exported kernels are still sparse: count zeros in the model's constant tensors.
    details = runner.interpreter.get_tensor_details()
    zeros = total = 0
    for d in details:
        if "project_conv" in d["name"] and len(d["shape"]) == 4:
            try:
                values = runner.interpreter.get_tensor(d["index"])
            except ValueError:
                continue
            zeros, total = zeros + int(np.sum(values == 0)), total + values.size
    assert total and zeros / total >= 0.45
