"""Check an exported model against its Keras original on real images.

`digits_task` gives a small real dataset that needs no download (scikit-learn's handwritten
digits, upsampled to RGB images by the training pipeline), `train_small_muxnet` a quickly
trained MUXNet on it, and `compare` the figures that matter after export: top-1 agreement,
accuracy, largest difference.
"""

import dataclasses

import numpy as np

from keras_muxnet.architectures import MUXNetSpec

# Small enough to train on the digits in under a minute on two CPU cores, and built from the
# primitives the published variants export: channel-multiplexed blocks with the grouped conv of
# 2 channels per group (three of them; the export runs them as pairs of depthwise convolutions)
# and a mixed-kernel block with a 7x7 group (the export tiles it into <=25-tap pieces), laid out
# like the first stages of MUXNet-m. So the int8 check calibrates and quantizes exactly what
# `export.rewrite.for_inference` produces for a real MUXNet.
DIGITS_SPEC = MUXNetSpec(
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
    note="A toy network for the export checks, not a MUXNet variant.",
)


def model_inputs(images, size):
    """Images as a model trained by `training.jobs.finetune_arrays` sees them when evaluated:
    resized bicubically to size x size and clipped, float32 RGB in [0, 255]."""
    from keras_muxnet.training import data

    no_labels = np.zeros(len(images), "int32")  # the pipeline wants some; only images come out
    dataset = data.array_dataset(images, no_labels, 1, False, size, 256)
    return np.concatenate([batch.numpy() for batch, _ in dataset])


def digits_task(size=32, seed=0):
    """(x_train, y_train, x_test, y_test): scikit-learn's handwritten digits split as
    `training.digits.load_digits(seed=seed)` splits them (so the held-out images are those the
    demo's fine-tune held out), as size x size RGB in [0, 255] through the training pipeline."""
    from keras_muxnet.training import digits

    (x_train, y_train), (x_test, y_test) = digits.load_digits(seed=seed)
    return model_inputs(x_train, size), y_train, model_inputs(x_test, size), y_test


def train_small_muxnet(x, y, epochs=6, seed=0):
    """A DIGITS_SPEC MUXNet trained on (x, y); logits out (no softmax), 10 classes."""
    from keras_muxnet._keras import keras
    from keras_muxnet.models import MUXNet

    keras.utils.set_random_seed(seed)
    model = MUXNet(DIGITS_SPEC, weights=None, input_shape=x.shape[1:], classes=10,
                   classifier_activation=None)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    return model


@dataclasses.dataclass
class Comparison:
    agreement: float        # share of images with the same top-1 class
    keras_accuracy: float
    exported_accuracy: float
    max_abs_diff: float     # largest output difference

    def __str__(self):
        return (f"top-1 agreement {self.agreement:.1%}, accuracy {self.keras_accuracy:.1%} (Keras) "
                f"vs {self.exported_accuracy:.1%} (exported), max |difference| {self.max_abs_diff:.3g}")


def compare(keras_model, exported, x, y):
    """Compare a Keras model with a callable exported model (e.g. export.TFLiteModel) on x, y."""
    reference = keras_model.predict(x, verbose=0)
    got = np.concatenate([exported(x[i:i + 64]) for i in range(0, len(x), 64)])
    return Comparison(agreement=float(np.mean(reference.argmax(-1) == got.argmax(-1))),
                      keras_accuracy=float(np.mean(reference.argmax(-1) == y)),
                      exported_accuracy=float(np.mean(got.argmax(-1) == y)),
                      max_abs_diff=float(np.abs(reference - got).max()))
