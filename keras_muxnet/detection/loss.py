"""The SSD loss: smooth-L1 on matched anchors + softmax cross-entropy with hard negatives 3:1.

Choices (SSD, and TF's ssdlite config where it agrees):
- classification: softmax over background + classes (SSD's original form; TF's ssdlite config
  uses per-class sigmoids instead, which needs no background logit but works the same with the
  miner). All positives count; of the negatives, only the `neg_pos_ratio` (3) x positives with
  the highest background loss, and at least `min_negatives` (3) per image, so an image with no
  objects still trains on its hardest negatives;
- localization: smooth L1 (Huber, delta 1) of the four codes, positives only;
- both sums are divided by the number of positive anchors in the batch (at least 1) and
  weighted 1:1.
The alternative the issue allows, `classification="focal"` (RetinaNet's focal loss, in its
softmax form): every anchor counts, its cross-entropy scaled by (1 - p_true)^gamma (gamma 2) and
by alpha (0.25) for object anchors, 1 - alpha for background ones; no mining.
`y_true` is `targets.encode`'s (B, A, 5), `y_pred` the model's (B, A, 4 + 1 + classes).
"""

import tensorflow as tf

from keras_muxnet._keras import keras, register

NEG_POS_RATIO = 3
MIN_NEGATIVES = 3
CLASSIFICATIONS = ("hard_negatives", "focal")
FOCAL_GAMMA = 2.0
FOCAL_ALPHA = 0.25


def _smooth_l1(diff):
    absolute = tf.abs(diff)
    return tf.where(absolute < 1.0, 0.5 * diff * diff, absolute - 0.5)


def _focal(classes, logits, positive, gamma, alpha):
    """Softmax focal loss per anchor (B, A)."""
    log_p = tf.nn.log_softmax(logits, axis=-1)
    log_p_true = tf.gather(log_p, classes, batch_dims=2)
    weight = tf.where(positive, alpha, 1.0 - alpha)
    return -weight * tf.pow(1.0 - tf.exp(log_p_true), gamma) * log_p_true


def ssd_losses(y_true, y_pred, neg_pos_ratio=NEG_POS_RATIO, min_negatives=MIN_NEGATIVES,
               classification="hard_negatives", gamma=FOCAL_GAMMA, alpha=FOCAL_ALPHA):
    """(localization, classification) sums per image (B,), and the batch's positive count."""
    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    classes = tf.cast(y_true[..., 4], tf.int32)
    positive = classes > 0
    pos_f = tf.cast(positive, tf.float32)
    loc = tf.reduce_sum(_smooth_l1(y_pred[..., :4] - y_true[..., :4]), axis=-1)
    loc = tf.reduce_sum(loc * pos_f, axis=-1)

    num_pos = tf.reduce_sum(tf.cast(positive, tf.int32), axis=-1)                  # (B,)
    if classification == "focal":
        cls = tf.reduce_sum(_focal(classes, y_pred[..., 4:], positive, gamma, alpha), axis=-1)
        return loc, cls, tf.reduce_sum(num_pos)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=y_pred[..., 4:])
    num_anchors = tf.shape(classes)[-1]
    num_neg = tf.minimum(tf.maximum(neg_pos_ratio * num_pos, min_negatives),
                         num_anchors - num_pos)
    negative_loss = tf.where(positive, -1.0, ce)        # positives sort last
    order = tf.argsort(negative_loss, axis=-1, direction="DESCENDING")
    rank = tf.argsort(order, axis=-1)
    hard_negative = tf.logical_and(~positive, rank < num_neg[:, None])
    selected = tf.cast(tf.logical_or(positive, hard_negative), tf.float32)
    cls = tf.reduce_sum(ce * selected, axis=-1)
    return loc, cls, tf.reduce_sum(num_pos)


@register
class SSDLoss(keras.losses.Loss):
    """Keras loss wrapping `ssd_losses`; the batch mean it reports is (loc + cls) / positives."""

    def __init__(self, neg_pos_ratio=NEG_POS_RATIO, min_negatives=MIN_NEGATIVES,
                 classification="hard_negatives", gamma=FOCAL_GAMMA, alpha=FOCAL_ALPHA,
                 name="ssd_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if classification not in CLASSIFICATIONS:
            raise ValueError(f"classification must be one of {CLASSIFICATIONS}, got "
                             f"{classification!r}")
        self.neg_pos_ratio = neg_pos_ratio
        self.min_negatives = min_negatives
        self.classification = classification
        self.gamma = gamma
        self.alpha = alpha

    def call(self, y_true, y_pred):
        loc, cls, num_pos = ssd_losses(y_true, y_pred, self.neg_pos_ratio, self.min_negatives,
                                       self.classification, self.gamma, self.alpha)
        batch = tf.cast(tf.shape(loc)[0], tf.float32)
        # Per-image values whose batch mean (Keras' reduction) is the sum over positives.
        return (loc + cls) * batch / tf.maximum(tf.cast(num_pos, tf.float32), 1.0)

    def get_config(self):
        config = super().get_config()
        config.update(neg_pos_ratio=self.neg_pos_ratio, min_negatives=self.min_negatives,
                      classification=self.classification, gamma=self.gamma, alpha=self.alpha)
        return config
