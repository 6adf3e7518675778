"""Training targets: match ground-truth boxes to anchors and code them.

Matching (TensorFlow's `argmax_matcher` with `force_match_for_each_row`, as in SSD):
- IoU of every anchor with every ground-truth box (anchors as corner boxes);
- an anchor whose best IoU is >= 0.5 is matched to that box; below 0.5 it is background
  (no "ignore" band: matched and unmatched thresholds are both 0.5);
- every ground-truth box also claims its own best anchor, whatever the IoU, so no object goes
  untrained (small digits in small images otherwise can have no anchor at 0.5).
Targets per anchor are (ty, tx, th, tw, class) with class 0 = background, object classes
shifted by one. An image without boxes gives all-background targets (it trains, on negatives).
"""

import tensorflow as tf

from keras_muxnet.detection import box_coding
from keras_muxnet.detection.boxes import iou_matrix

MATCH_THRESHOLD = 0.5


def encode(boxes, labels, anchors, threshold=MATCH_THRESHOLD):
    """One image: normalized xyxy `boxes` (G, 4) and int `labels` (G,) -> targets (A, 5).

    Works in graph mode (tf.data map) and with G = 0.
    """
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    boxes = tf.reshape(tf.convert_to_tensor(boxes, tf.float32), (-1, 4))
    labels = tf.reshape(tf.cast(labels, tf.int32), (-1,))
    num_anchors = tf.shape(anchors)[0]
    cy, cx, h, w = tf.unstack(anchors, axis=-1)
    corners = tf.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)

    def matched():
        iou = iou_matrix(corners, boxes)                      # (A, G)
        best_box = tf.argmax(iou, axis=1, output_type=tf.int32)
        best_iou = tf.reduce_max(iou, axis=1)
        # Force-match: each box takes its best anchor (later boxes win ties, as in TF's matcher).
        best_anchor = tf.argmax(iou, axis=0, output_type=tf.int32)        # (G,)
        g = tf.range(tf.shape(boxes)[0])
        best_box = tf.tensor_scatter_nd_update(best_box, best_anchor[:, None], g)
        best_iou = tf.tensor_scatter_nd_update(best_iou, best_anchor[:, None],
                                               tf.ones_like(g, tf.float32))
        positive = best_iou >= threshold
        classes = tf.where(positive, tf.gather(labels, best_box) + 1, 0)
        codes = box_coding.encode(tf.gather(boxes, best_box), anchors)
        codes = tf.where(positive[:, None], codes, 0.0)
        return tf.concat([codes, tf.cast(classes, tf.float32)[:, None]], axis=1)

    def background():
        return tf.zeros((num_anchors, 5), tf.float32)

    return tf.cond(tf.shape(boxes)[0] > 0, matched, background)
