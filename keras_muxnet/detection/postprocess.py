"""From raw head outputs to detections: decode, score, class-wise NMS, pixels.

Choices: softmax scores without the background column; class-wise NMS at IoU 0.6 keeping at
most 100 boxes per class and 100 in all (the ssdlite config's numbers), boxes with a score below
`score_threshold` (0.01 here; the config's 1e-8 only matters for recall at the tail of AP) are
dropped. NMS sees the decoded boxes as they are; they are clipped to the image afterwards
(as TFLite's detection post-processing does, so exported detectors agree). Output follows keras-hub's object detectors: "boxes" (B, N, 4) absolute `xyxy` pixels,
"confidence" (B, N), "labels" (B, N) int, "num_detections" (B,); rows past num_detections hold
boxes and confidences of 0 and label -1.
"""

import tensorflow as tf

from keras_muxnet.detection import box_coding
from keras_muxnet.detection.boxes import xyxy_to_yxyx

IOU_THRESHOLD = 0.6
SCORE_THRESHOLD = 0.01
MAX_DETECTIONS = 100


def detections(raw, anchors, image_size, iou_threshold=IOU_THRESHOLD,
               score_threshold=SCORE_THRESHOLD, max_detections=MAX_DETECTIONS):
    """Raw (B, A, 4 + 1 + C) -> the keras-hub style dict; image_size = (height, width) pixels."""
    raw = tf.cast(raw, tf.float32)
    boxes = box_coding.decode(raw[..., :4], anchors)
    scores = tf.nn.softmax(raw[..., 4:], axis=-1)[..., 1:]
    nms = tf.image.combined_non_max_suppression(
        xyxy_to_yxyx(boxes)[:, :, None, :], scores, max_output_size_per_class=max_detections,
        max_total_size=max_detections, iou_threshold=iou_threshold,
        score_threshold=score_threshold, clip_boxes=False)
    height, width = image_size
    scale = tf.constant([width, height, width, height], tf.float32)
    count = nms.valid_detections
    valid = tf.range(max_detections)[None, :] < count[:, None]
    return {
        "boxes": tf.clip_by_value(xyxy_to_yxyx(nms.nmsed_boxes), 0.0, 1.0) * scale,
        "confidence": nms.nmsed_scores,
        "labels": tf.where(valid, tf.cast(nms.nmsed_classes, tf.int32), -1),
        "num_detections": count,
    }
