"""scikit-learn's handwritten digits: the package's one small real image dataset (no download).

1,797 8x8 grey images (values 0-16) of the digits 0-9, shipped inside scikit-learn. They
become RGB 0-255 at 8x8; at a training size they are upsampled bicubically and clipped, the way
the training pipeline (`training.data.array_dataset`) does it, as the paper upsampled CIFAR. The
split is stratified and fixed by a seed, so the demo, the finetune command, the export checks
and the search all hold out the same images.
"""

import numpy as np

NUM_CLASSES = 10


def load_digits(size=None, validation_fraction=0.2, seed=0):
    """((train images, labels), (held-out images, labels)).

    Images are N x 8 x 8 x 3 uint8 with `size=None` (for `training.jobs`, whose pipeline
    resizes them), else N x size x size x 3 float32 RGB in [0, 255], exactly what a model
    trained through that pipeline sees when it is evaluated.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    if size is not None and (not isinstance(size, int) or size < 8):
        raise ValueError(f"size must be an integer of at least 8 (the digits are 8x8), got {size!r}")
    bunch = sklearn_digits()
    grey = np.round(bunch.images * (255.0 / 16.0)).astype("uint8")
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    labels = bunch.target.astype("int32")
    x_train, x_val, y_train, y_val = train_test_split(
        rgb, labels, test_size=validation_fraction, random_state=seed, stratify=labels)
    if size is not None:
        x_train, x_val = _as_evaluated(x_train, size), _as_evaluated(x_val, size)
    return (x_train, y_train), (x_val, y_val)


def _as_evaluated(images, size):
    """Images as the evaluation pipeline hands them to a model: resized bicubically, clipped."""
    from keras_muxnet.training import data

    no_labels = np.zeros(len(images), "int32")  # the pipeline wants some; only images come out
    dataset = data.array_dataset(images, no_labels, 1, False, size, 256)
    return np.concatenate([batch.numpy() for batch, _ in dataset])
