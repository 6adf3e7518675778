"""A detector's backbone started from a digit classifier trained on the training digits only.

For digit scenes, where the detector starts from random weights, the backbone can first learn
the digits as a classifier, which is much cheaper per image than detection: single-digit crops
(`digit_crops`) are cut around the digit of one-digit training scenes (`digit_scenes`, the
training digits of the same seed and their random stream, so no held-out digit is ever seen),
`crop` pixels square, the digit at its scene scale (24-96 px at 192; a digit taller than the
crop is shrunk with its window to fit). A MUXNet classifier of the detector's variant learns them
with Adam and cosine decay (no flips: a flipped digit is not the same digit), and
`copy_backbone_weights` moves every layer whose name and weight shapes match into the detector
(the backbone's layers have the classifier's names; heads and extra layers keep their own).
"""

import numpy as np
import tensorflow as tf

from keras_muxnet import architectures, models
from keras_muxnet._keras import keras
from keras_muxnet.detection import backbones, digit_scenes
from keras_muxnet.training import schedules

CROP = 64


def digit_crops(count, crop=CROP, seed=0):
    """(uint8 images (count, crop, crop, 3), labels (count,)): one training digit each."""
    from PIL import Image

    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    (scenes, boxes, labels), _ = digit_scenes.load_digit_scenes(count, 1, max_digits=1, seed=seed)
    rng = np.random.default_rng(seed)
    size = scenes.shape[1]
    images, classes = [], []
    for scene, box, label in zip(scenes, boxes, labels):
        if not len(box):
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in box[0])
        side = min(size, max(crop, x2 - x1, y2 - y1))
        x = int(rng.integers(max(0, x2 - side), min(x1, size - side) + 1))
        y = int(rng.integers(max(0, y2 - side), min(y1, size - side) + 1))
        window = scene[y:y + side, x:x + side]
        if side != crop:
            window = np.asarray(Image.fromarray(window).resize((crop, crop), Image.BILINEAR))
        images.append(window)
        classes.append(int(label[0]))
    return np.stack(images), np.array(classes, np.int32)


def train_classifier(backbone, images, labels, epochs, batch_size=64, learning_rate=3e-3,
                     seed=0, verbose=0):
    """A MUXNet classifier of `backbone` (a variant name or MUXNetSpec) fit on (images, labels)."""
    spec = architectures.get_spec(backbone) if isinstance(backbone, str) else backbone
    keras.utils.set_random_seed(seed)
    model = models.MUXNet(spec, weights=None, classes=digit_scenes.NUM_CLASSES,
                          input_shape=images.shape[1:], drop_connect_rate=0.0)
    data = tf.data.Dataset.from_tensor_slices((tf.cast(images, tf.float32), labels))
    data = data.shuffle(len(images), seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    steps = int(np.ceil(len(images) / batch_size))
    schedule = schedules.cosine_schedule(learning_rate, steps * epochs, warmup_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data, epochs=epochs, verbose=verbose)
    return model


def copy_backbone_weights(classifier, detector):
    """Copy weights layer by layer where names and shapes match; returns the names copied."""
    copied = []
    for layer in detector.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        try:
            source = classifier.get_layer(layer.name).get_weights()
        except ValueError:
            continue
        if [w.shape for w in source] == [w.shape for w in weights]:
            layer.set_weights(source)
            copied.append(layer.name)
    return copied


def pretrain_backbone(detector, count, epochs, crop=CROP, seed=0, verbose=0):
    """Train a classifier on `count` training-digit crops and copy its backbone into `detector`.

    Returns {"pretrain_accuracy": its accuracy on its own crops, "pretrain_layers": layers copied}.
    """
    if not isinstance(detector.backbone_name, architectures.MUXNetSpec) and \
            detector.backbone_name == backbones.MOBILENET_V2:
        raise ValueError("digit pretraining builds MUXNet classifiers; mobilenet_v2 has none here")
    images, labels = digit_crops(count, crop, seed)
    classifier = train_classifier(detector.backbone_name, images, labels, epochs, seed=seed,
                                  verbose=verbose)
    copied = copy_backbone_weights(classifier, detector)
    _, accuracy = classifier.evaluate(images, labels, batch_size=128, verbose=0)
    return {"pretrain_accuracy": round(float(accuracy), 4), "pretrain_layers": len(copied)}
