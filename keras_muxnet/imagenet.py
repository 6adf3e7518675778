"""ImageNet input conventions of the authors' models and keras.applications-style helpers."""

import numpy as np

from keras_muxnet._keras import keras

# The authors' (timm's) ImageNet mean and std of RGB in [0, 1].
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)
CROP_FRACTION = 0.875  # evaluation: resize to size / 0.875 (bicubic), center-crop size


def normalization_layer(name="normalization"):
    """A layer mapping RGB in [0, 255] to the normalized input of the stem."""
    mean = [255.0 * m for m in MEAN_RGB]
    variance = [(255.0 * s) ** 2 for s in STD_RGB]
    return keras.layers.Normalization(mean=mean, variance=variance, name=name)


def preprocess_input(x, data_format=None):
    """A pass-through, as for keras.applications' EfficientNet and MobileNetV3.

    MUXNet models normalize inside (include_preprocessing=True), so they take RGB in [0, 255].
    For a model built with include_preprocessing=False use `normalize_input` instead.
    """
    del data_format
    return x


def normalize_input(x):
    """RGB in [0, 255] (channels last) to the mean/std normalized input the stem expects."""
    x = np.asarray(x, dtype="float32") / 255.0
    return (x - np.asarray(MEAN_RGB, "float32")) / np.asarray(STD_RGB, "float32")
