"""Detection metrics: PASCAL VOC2007 AP (11-point, Table 2's metric) and COCO AP via pycocotools.

Inputs, per image and in pixels (xyxy):
- ground truth: {"boxes": (G, 4), "labels": (G,), optional "difficult": (G,) bool};
- predictions: {"boxes": (N, 4), "confidence": (N,), "labels": (N,)}; `split_batch` cuts
  SSDLite.predict's padded dict into these.

VOC (devkit's `voc_eval`): per class, detections of all images sorted by confidence; each is a
true positive if its best-IoU ground truth of that class in its image has IoU >= 0.5 and is not
yet taken, a false positive otherwise; matches to `difficult` objects count as neither, and
difficult objects are not in the recall's denominator. AP is the mean of the best precision at
recall >= 0, 0.1, ..., 1 (`points=11`, VOC2007) or COCO's 101 points. mAP averages the classes
that have ground truth. One difference from the devkit: IoU uses continuous areas, not the
devkit's "+1 pixel" (our boxes are not integer pixel indices).
COCO: pycocotools' COCOeval on the same lists, difficult objects passed as `iscrowd` (COCO's
way of saying "neither reward nor penalty"); AP@[.5:.95] and AP@.5 of `stats`.
"""

import contextlib
import io

import numpy as np

from keras_muxnet.detection.boxes import iou_numpy

VOC07_POINTS = 11
COCO_POINTS = 101


def split_batch(detections):
    """keras-hub style batch dict (B, N, ...) + num_detections -> list of per-image dicts."""
    out = []
    for i, count in enumerate(np.asarray(detections["num_detections"]).astype(int)):
        out.append({key: np.asarray(detections[key][i])[:count]
                    for key in ("boxes", "confidence", "labels")})
    return out


def _check_lengths(ground_truth, predictions):
    if len(ground_truth) != len(predictions):
        raise ValueError(f"{len(ground_truth)} ground-truth images but predictions for "
                         f"{len(predictions)}")


def interpolated_ap(recall, precision, points=VOC07_POINTS):
    """AP as the mean, over `points` recall levels 0..1, of the best precision at recall >= it."""
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    total = 0.0
    for level in np.linspace(0.0, 1.0, points):
        reached = precision[recall >= level - 1e-12]
        total += reached.max() if reached.size else 0.0
    return total / points


def class_ap(ground_truth, predictions, label, iou_threshold=0.5, points=VOC07_POINTS):
    """VOC AP of one class, or None if the class has no (non-difficult) ground truth."""
    taken, gt_boxes, gt_difficult, positives = [], [], [], 0
    for gt in ground_truth:
        labels = np.asarray(gt["labels"]).reshape(-1)
        keep = labels == label
        boxes = np.asarray(gt["boxes"], dtype=np.float64).reshape(-1, 4)[keep]
        difficult = np.asarray(gt.get("difficult", np.zeros(len(labels), bool)), bool)[keep]
        gt_boxes.append(boxes)
        gt_difficult.append(difficult)
        taken.append(np.zeros(len(boxes), bool))
        positives += int((~difficult).sum())
    if positives == 0:
        return None
    entries = []
    for image, pred in enumerate(predictions):
        labels = np.asarray(pred["labels"]).reshape(-1)
        boxes = np.asarray(pred["boxes"], dtype=np.float64).reshape(-1, 4)
        for box, score in zip(boxes[labels == label],
                              np.asarray(pred["confidence"]).reshape(-1)[labels == label]):
            entries.append((-float(score), image, box))
    entries.sort(key=lambda e: e[0])
    tp, fp = [], []
    for _, image, box in entries:
        hit = miss = 0
        if len(gt_boxes[image]):
            ious = iou_numpy(box, gt_boxes[image])
            best = int(np.argmax(ious))
            if ious[best] >= iou_threshold:
                if gt_difficult[image][best]:
                    continue
                if not taken[image][best]:
                    taken[image][best] = True
                    hit = 1
                else:
                    miss = 1
            else:
                miss = 1
        else:
            miss = 1
        tp.append(hit)
        fp.append(miss)
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return interpolated_ap(recall, precision, points)


def voc_map(ground_truth, predictions, num_classes, iou_threshold=0.5, points=VOC07_POINTS):
    """{"map": mean AP over classes with ground truth, "ap": {class: AP}} (VOC07 by default)."""
    _check_lengths(ground_truth, predictions)
    aps = {}
    for label in range(num_classes):
        ap = class_ap(ground_truth, predictions, label, iou_threshold, points)
        if ap is not None:
            aps[label] = ap
    return {"map": float(np.mean(list(aps.values()))) if aps else 0.0, "ap": aps}


def _coco_inputs(ground_truth, predictions):
    images, annotations, results, categories = [], [], [], set()
    for image_id, (gt, pred) in enumerate(zip(ground_truth, predictions), start=1):
        images.append({"id": image_id})
        boxes = np.asarray(gt["boxes"], dtype=np.float64).reshape(-1, 4)
        labels = np.asarray(gt["labels"]).reshape(-1)
        difficult = np.asarray(gt.get("difficult", np.zeros(len(labels), bool)), bool)
        for box, label, hard in zip(boxes, labels, difficult):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": int(label) + 1, "bbox": [box[0], box[1], w, h],
                                "area": w * h, "iscrowd": int(hard)})
            categories.add(int(label) + 1)
        for box, label, score in zip(np.asarray(pred["boxes"], dtype=np.float64).reshape(-1, 4),
                                     np.asarray(pred["labels"]).reshape(-1),
                                     np.asarray(pred["confidence"]).reshape(-1)):
            results.append({"image_id": image_id, "category_id": int(label) + 1,
                            "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                            "score": float(score)})
    dataset = {"images": images, "annotations": annotations,
               "categories": [{"id": c} for c in sorted(categories)]}
    return dataset, results


def coco_map(ground_truth, predictions):
    """{"map": AP@[.5:.95], "map50": AP@.5, "map75": AP@.75} from pycocotools' COCOeval."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    _check_lengths(ground_truth, predictions)
    dataset, results = _coco_inputs(ground_truth, predictions)
    if not dataset["annotations"] or not results:
        return {"map": 0.0, "map50": 0.0, "map75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [max(float(s), 0.0) for s in evaluator.stats[:3]]  # -1 means "no ground truth"
    return {"map": stats[0], "map50": stats[1], "map75": stats[2]}
