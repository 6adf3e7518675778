"""Magnitude pruning (tfmot) of MUXNet's convolutions and classifier, and stripping it again.

Only tf_keras (TF_USE_LEGACY_KERAS=1). Pruned layers are the built-in Conv2D (1x1, grouped and
the stem) and Dense; depthwise kernels (built-in or MUXNet's branched ones) are small and stay
dense. Train with `pruning_callbacks()`; `strip(model)` gives back the original architecture
with the zeros in its kernels.
"""

import numpy as np

from keras_muxnet._keras import keras
from keras_muxnet.optimize._tfmot import tfmot

PRUNABLE = (keras.layers.Conv2D, keras.layers.Dense)


def prune(model, target_sparsity=0.5, begin_step=0, end_step=1000, frequency=100):
    """A copy of `model` whose prunable layers reach `target_sparsity` zeros by `end_step`."""
    sparsity = tfmot().sparsity.keras
    if not 0.0 < target_sparsity < 1.0:
        raise ValueError(f"target_sparsity must lie strictly between 0 and 1, got {target_sparsity}")
    if not 0 <= begin_step < end_step:
        raise ValueError(f"need 0 <= begin_step < end_step, got {begin_step}, {end_step}")
    schedule = sparsity.PolynomialDecay(initial_sparsity=0.0, final_sparsity=target_sparsity,
                                        begin_step=begin_step, end_step=end_step,
                                        frequency=frequency)

    def wrap(layer):
        if type(layer) in PRUNABLE:
            return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    return keras.models.clone_model(model, clone_function=wrap)


def pruning_callbacks():
    """The callbacks `fit` needs to advance the pruning schedule."""
    return [tfmot().sparsity.keras.UpdatePruningStep()]


def strip(model):
    """The pruned model with the pruning wrappers removed (the original layers, sparse weights)."""
    return tfmot().sparsity.keras.strip_pruning(model)


def kernel_sparsity(model):
    """{layer name: share of zeros in its kernel} for the prunable layers of a (stripped) model."""
    out = {}
    for layer in model.layers:
        if type(layer) in PRUNABLE:
            kernel = np.asarray(layer.get_weights()[0])
            out[layer.name] = float(np.mean(kernel == 0))
    return out
