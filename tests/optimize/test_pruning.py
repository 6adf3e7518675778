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
    np.testing.assert_allclose(TFLiteModel(path)(x[:4]), stripped.predict(x[:4], verbose=0),
                               atol=1e-4)
    # The exported 1x1 kernels (O, 1, 1, I) of the projections are still sparse.
    interpreter = TFLiteModel(path).interpreter  # batch 1: no activation has O > 1 here
    zeros = total = 0
    for detail in interpreter.get_tensor_details():
        shape = tuple(detail["shape"])
        if "project_conv" in detail["name"] and len(shape) == 4 and shape[0] > 1 \
                and shape[1:3] == (1, 1):
            values = interpreter.get_tensor(detail["index"])
            zeros, total = zeros + int(np.sum(values == 0)), total + values.size
    assert total and zeros / total >= 0.45, (zeros, total)
