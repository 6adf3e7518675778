"""ImageNet input conventions of the authors' models and keras.applications-style helpers."""

import functools
import importlib.resources

import numpy as np

from keras_muxnet._keras import keras

# The authors' (timm's) ImageNet mean and std of RGB in [0, 1].
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)
CROP_FRACTION = 0.875  # evaluation: resize to size / 0.875 (bicubic), center-crop size


def normalization_layer(channels=3, name="normalization"):
    """A layer mapping pixels in [0, 255] to the normalized input of the stem.

    RGB (3 channels) gets the ImageNet mean and std of each colour, as the authors trained.
    Any other channel count (grey, RGB + depth, multispectral) gets the same statistics in every
    channel, the average of the three colours' (mean 0.449, std 0.226 of [0, 1]): a grey image
    is then normalized as its RGB copy would be on average. Such models have no ImageNet weights.
    """
    if channels == 3:
        mean, std = MEAN_RGB, STD_RGB
    else:
        mean = [sum(MEAN_RGB) / 3] * channels
        std = [sum(STD_RGB) / 3] * channels
    return keras.layers.Normalization(mean=[255.0 * m for m in mean],
                                      variance=[(255.0 * s) ** 2 for s in std], name=name)


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


CLASSES_FILE = "imagenet_classes.tsv"


@functools.lru_cache(maxsize=1)
def imagenet_classes():
    """The 1000 ImageNet-1k classes as (WordNet id, name) in label order, read from package data.

    The file is generated from timm's lists by weights/make_imagenet_classes.py, so this works
    offline; names follow keras.applications ("great_white_shark").
    """
    text = importlib.resources.files("keras_muxnet").joinpath("data", CLASSES_FILE).read_text()
    rows = [tuple(line.split("\t")) for line in text.splitlines() if line and not line.startswith("#")]
    if len(rows) != 1000:
        raise RuntimeError(f"the packaged {CLASSES_FILE} holds {len(rows)} classes, not 1000")
    return tuple(rows)


def decode_predictions(preds, top=5):
    """Top classes of a batch of ImageNet predictions, as keras.applications does it.

    `preds` has shape (samples, 1000) (probabilities or logits). Returns one list per sample
    of `top` tuples (WordNet id, class name, score), best first.
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(f"decode_predictions expects a batch of ImageNet predictions of shape "
                         f"(samples, 1000), got shape {preds.shape}")
    if not isinstance(top, int) or not 1 <= top <= 1000:
        raise ValueError(f"top must be an integer from 1 to 1000, got {top!r}")
    classes = imagenet_classes()
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[::-1][:top]
        results.append([(*classes[i], row[i]) for i in best])
    return results
