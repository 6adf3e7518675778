"""Tiny MUXNets for tests that need seconds, not minutes.

TINY has every block kind (ds, ir, mixed kernels with a 7x7 group, spatial mux, channel-mux with
the grouped conv) for the export and optimization tests. TRAINING_TINY is a third of its cost
with one block of each kind training treats differently (ds, ir, mixed kernels, a grouped mux
block): the training tests fit it in both Keras modes and in separate processes, where TINY's
first fit took twice as long in tf_keras (34 s vs 17 s, steps 4x slower).
"""

import numpy as np

from keras_muxnet.architectures import MUXNetSpec
from keras_muxnet.models import MUXNet

TINY = MUXNetSpec(
    name="muxnet_tiny",
    stages=(
        ("ds_k3_s1_c16_se0.25_nre",),
        ("ir_k3_s2_e4_c16_se0.75_nre", "mux_r1_k3_e4_c16_se0.75_l0.5_nre"),
        ("ir_k3.5.7_s2_e4_c24_se0.75", "mux_r1_k5_e6_c24_se0.75_l0.5",
         "ir_k3_s1_e4_c24_se0.5_x-1.0.1"),
    ),
    stem_filters=16,
    head_filters=64,
    published=False,
)
GROUPED_BLOCKS = 2  # the mux blocks above without spatial scales
LARGE_KERNEL_LAYERS = 1  # the 7x7 group of the mixed-kernel block

TRAINING_TINY = MUXNetSpec(
    name="muxnet_tiny_training",
    stages=(("ds_k3_s1_c8_se0.25_nre",),
            ("ir_k3_s2_e3_c16_se0.25_nre", "mux_r1_k3_e3_c16_se0.25_l0.5_nre"),
            ("ir_k3.5_s2_e3_c24_se0.25",)),
    stem_filters=8, head_filters=32, published=False)


def randomize_batchnorm(model, seed=0):
    """Non-trivial BatchNorm statistics, so that folding mistakes show in the outputs."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    return model


def tiny_model(size=32, classes=10, classifier_activation=None, **kwargs):
    model = MUXNet(TINY, weights=None, input_shape=(size, size, 3), classes=classes,
                   classifier_activation=classifier_activation, **kwargs)
    return randomize_batchnorm(model)


def images(count, size=32, seed=1):
    """RGB in [0, 255], as the models with preprocessing take."""
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype(np.float32)
