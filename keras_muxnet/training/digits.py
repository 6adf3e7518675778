"""scikit-learn's handwritten digits as a small real image dataset for MUXNet.

1,797 8x8 grey images (values 0-16) of the digits 0-9, shipped inside scikit-learn. They
become RGB 0-255 uint8 at 8x8; the pipeline upsamples them bicubically to the training size,
the way the paper upsampled CIFAR. The split is stratified and fixed by a seed.
"""

import numpy as np

NUM_CLASSES = 10


def load_digits(validation_fraction=0.2, seed=0):
    """((train images, train labels), (held-out images, held-out labels)), images N x 8 x 8 x 3 uint8."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    bunch = sklearn_digits()
    grey = np.round(bunch.images * (255.0 / 16.0)).astype("uint8")
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    labels = bunch.target.astype("int32")
    x_train, x_val, y_train, y_val = train_test_split(
        rgb, labels, test_size=validation_fraction, random_state=seed, stratify=labels)
    return (x_train, y_train), (x_val, y_val)
