"""Train and evaluate an SSDLite on in-memory data: tf.data with targets, fit, held-out mAP.

Used by `keras-muxnet detect train` (digit scenes) and the tests. Examples are
(uint8 image, pixel xyxy boxes (n, 4), labels (n,)); targets are encoded in the tf.data map
by `SSDLite.encode_sample`, so an image without boxes is just all-background.
Optimizer: Adam with cosine decay to 0 and one warm-up epoch (from scratch on a few thousand
images Adam converges in minutes where the paper's SGD 0.01 needs its 200 epochs; the paper's
recipe is the VOC script's).
After a short training the BatchNorm moving averages (momentum 0.99) lag far behind the weights:
a detector that finds all 8 scenes it was fit on with batch statistics (mAP@0.5 1.0) scored 0.45
with its moving averages. So `train` ends with `recalibrate_batch_norm`: the averages are
recomputed with the final weights over some training batches (as once-for-all networks reset
theirs), which costs a few forward passes.
No XLA (`jit_compile`): on a 2-core CPU it made an epoch of 256 scenes at 192 px about 10x
slower (CPU seconds 109-120 against 10-11) and its compilation took minutes.
"""

import time

import numpy as np
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.detection import evaluation
from keras_muxnet.training import schedules
from keras_muxnet.training.batch_norm import recalibrate_batch_norm


def make_dataset(model, images, boxes, labels, batch_size, shuffle=False, seed=0):
    """Batched (image, targets) pairs for `model.fit`."""
    boxes = tf.ragged.constant([np.asarray(b, np.float32).reshape(-1, 4).tolist() for b in boxes],
                               ragged_rank=1, inner_shape=(4,), dtype=tf.float32)
    labels = tf.ragged.constant([np.asarray(lab, np.int32).reshape(-1).tolist() for lab in labels],
                                dtype=tf.int32)
    data = tf.data.Dataset.from_tensor_slices((images, boxes, labels))
    if shuffle:
        data = data.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    data = data.map(model.encode_sample, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def evaluate(model, images, boxes, labels, batch_size=32):
    """{"map50": COCO AP@.5, "map": COCO AP@[.5:.95], "voc07_map50": VOC2007 11-point AP}."""
    detections = model.predict(images, batch_size=batch_size, verbose=0)
    return score(detections, boxes, labels, model.num_classes)


def score(detections, boxes, labels, num_classes):
    """`evaluate`'s dict for a batch dict of detections (SSDLite's or TFLiteDetector's)."""
    predictions = evaluation.split_batch(detections)
    truth = [{"boxes": b, "labels": lab} for b, lab in zip(boxes, labels)]
    coco = evaluation.coco_map(truth, predictions)
    voc = evaluation.voc_map(truth, predictions, num_classes)
    return {"map50": coco["map50"], "map": coco["map"], "voc07_map50": voc["map"]}


def train(model, train_data, heldout_data, epochs, batch_size=32, learning_rate=2e-3, seed=0,
          verbose=1, callbacks=(), loss=None):
    """Fit `model` on (images, boxes, labels) and evaluate on the held-out triple.

    `seed` fixes the shuffling and what Keras draws from here on, not the model's initial
    weights: seed (`keras.utils.set_random_seed`) before building the model for those.
    `loss` defaults to the model's (`SSDLoss()`). Returns
    {"map50", "map", "voc07_map50", "epochs", "seconds", "loss"}.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    keras.utils.set_random_seed(seed)
    dataset = make_dataset(model, *train_data, batch_size=batch_size, shuffle=True, seed=seed)
    steps = int(np.ceil(len(train_data[0]) / batch_size))
    schedule = schedules.cosine_schedule(learning_rate, steps * epochs, warmup_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    start = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, verbose=verbose, callbacks=list(callbacks))
    recalibrate_batch_norm(model, dataset)
    seconds = time.perf_counter() - start
    result = evaluate(model, *heldout_data)
    result.update(epochs=epochs, seconds=round(seconds, 1),
                  loss=float(history.history["loss"][-1]))
    return result
