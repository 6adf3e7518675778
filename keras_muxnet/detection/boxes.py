"""Box geometry shared by matching, decoding and evaluation.

Conventions of the whole detection package (written down once, here):
- Boxes the user sees are `xyxy` = (x1, y1, x2, y2): in pixels at the API's edges (`predict`,
  datasets, evaluation), normalized to [0, 1] of the image width/height inside the model.
- Anchors and box codes are in TensorFlow's object-detection order, `(y, x, h, w)` centres and
  `(ty, tx, th, tw)` codes, so TFLite's `TFLite_Detection_PostProcess` takes them as they are.
"""

import numpy as np
import tensorflow as tf


def check_boxes(boxes, labels, num_classes, width=None, height=None, where="boxes"):
    """Reject boxes that cannot be trained on, naming the first bad one (numpy, xyxy)."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    labels = np.asarray(labels).reshape(-1)
    if len(boxes) != len(labels):
        raise ValueError(f"{where}: {len(boxes)} boxes but {len(labels)} labels")
    for i, (box, label) in enumerate(zip(boxes, labels)):
        x1, y1, x2, y2 = box
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f"{where}: box {i} {box.tolist()} is empty or flipped (needs x2 > x1 "
                             f"and y2 > y1, xyxy order)")
        limit_x = 1.0 if width is None else float(width)
        limit_y = 1.0 if height is None else float(height)
        if x1 < 0 or y1 < 0 or x2 > limit_x + 1e-3 or y2 > limit_y + 1e-3:
            raise ValueError(f"{where}: box {i} {box.tolist()} lies outside the image "
                             f"({limit_x:g} x {limit_y:g})")
        if not 0 <= int(label) < num_classes or int(label) != label:
            raise ValueError(f"{where}: label {label} of box {i} is not a class index in "
                             f"[0, {num_classes})")
    return boxes, labels.astype(np.int32)


def xyxy_to_yxyx(boxes):
    return tf.gather(boxes, [1, 0, 3, 2], axis=-1)


def iou_matrix(a, b):
    """IoU of every box in `a` (N, 4) with every box in `b` (M, 4), same corner order: (N, M)."""
    a = tf.convert_to_tensor(a, tf.float32)
    b = tf.convert_to_tensor(b, tf.float32)
    a1, a2 = a[:, None, :2], a[:, None, 2:]
    b1, b2 = b[None, :, :2], b[None, :, 2:]
    wh = tf.maximum(tf.minimum(a2, b2) - tf.maximum(a1, b1), 0.0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = tf.reduce_prod(a2 - a1, axis=-1)
    area_b = tf.reduce_prod(b2 - b1, axis=-1)
    return inter / tf.maximum(area_a + area_b - inter, 1e-12)


def iou_numpy(box, boxes):
    """IoU of one xyxy box with each of `boxes` (numpy; the evaluation's inclusive-pixel-free form)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)
