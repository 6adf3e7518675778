"""SSD box coding against anchors: Faster R-CNN's coder with scales (10, 10, 5, 5).

A box of centre (y, x) and size (h, w) is coded relative to an anchor (ya, xa, ha, wa) as
ty = 10 (y - ya) / ha, tx = 10 (x - xa) / wa, th = 5 log(h / ha), tw = 5 log(w / wa):
the scales of TensorFlow's `faster_rcnn_box_coder` in the ssdlite_mobilenet_v2 config, which
are also TFLite_Detection_PostProcess's `y_scale, x_scale, h_scale, w_scale`.
"""

import tensorflow as tf

SCALES = (10.0, 10.0, 5.0, 5.0)  # y, x, h, w
_EPS = 1e-8


def encode(boxes_xyxy, anchors, scales=SCALES):
    """Normalized xyxy boxes (..., 4) matched to anchors (..., 4) -> codes (ty, tx, th, tw)."""
    boxes_xyxy = tf.convert_to_tensor(boxes_xyxy, tf.float32)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    x1, y1, x2, y2 = tf.unstack(boxes_xyxy, axis=-1)
    ya, xa, ha, wa = tf.unstack(anchors, axis=-1)
    h = tf.maximum(y2 - y1, _EPS)
    w = tf.maximum(x2 - x1, _EPS)
    y = (y1 + y2) / 2
    x = (x1 + x2) / 2
    return tf.stack([scales[0] * (y - ya) / ha, scales[1] * (x - xa) / wa,
                     scales[2] * tf.math.log(h / ha), scales[3] * tf.math.log(w / wa)], axis=-1)


def decode(codes, anchors, scales=SCALES):
    """Codes (ty, tx, th, tw) (..., 4) against anchors -> normalized xyxy boxes."""
    codes = tf.convert_to_tensor(codes, tf.float32)
    anchors = tf.convert_to_tensor(anchors, tf.float32)
    ty, tx, th, tw = tf.unstack(codes, axis=-1)
    ya, xa, ha, wa = tf.unstack(anchors, axis=-1)
    y = ty / scales[0] * ha + ya
    x = tx / scales[1] * wa + xa
    h = tf.exp(th / scales[2]) * ha
    w = tf.exp(tw / scales[3]) * wa
    return tf.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=-1)
