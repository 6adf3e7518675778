import json

import numpy as np
import pytest

from keras_muxnet.detection import evaluation


def _gt(boxes, labels, difficult=None):
    out = {"boxes": np.array(boxes, float), "labels": np.array(labels)}
    if difficult is not None:
        out["difficult"] = np.array(difficult, bool)
    return out


def _pred(boxes, scores, labels):
    return {"boxes": np.array(boxes, float).reshape(-1, 4), "confidence": np.array(scores, float),
            "labels": np.array(labels)}


def test_voc07_eleven_point_by_hand():
    # Two objects of class 0; detections by score: hit, miss (elsewhere), hit.
    gt = [_gt([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0])]
    pred = [_pred([[0, 0, 10, 10], [50, 50, 60, 60], [21, 21, 30, 30]], [0.9, 0.8, 0.7], [0, 0, 0])]
    # recall/precision: (0.5, 1), (0.5, 0.5), (1, 2/3) -> levels 0..0.5 (6) at 1, 0.6..1 (5) at 2/3
    expected = (6 * 1.0 + 5 * 2 / 3) / 11
    result = evaluation.voc_map(gt, pred, num_classes=1)
    assert result["map"] == pytest.approx(expected)


def test_voc_duplicates_difficult_and_missing_classes():
    gt = [_gt([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 1], difficult=[False, True])]
    # A duplicate of the class-0 object is a false positive; a hit on a difficult one is ignored.
    pred = [_pred([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.95], [0, 0, 1])]
    result = evaluation.voc_map(gt, pred, num_classes=3)
    assert result["ap"] == {0: pytest.approx(1.0)}  # class 1 only difficult, class 2 absent
    assert result["map"] == pytest.approx(1.0)
    assert evaluation.voc_map(gt, [_pred([], [], [])], 3)["map"] == 0.0


def test_coco_by_hand():
    gt = [_gt([[0, 0, 10, 10]], [0])]
    # IoU 0.62 counts at thresholds .5, .55, .6 -> 3 of 10.
    box = [0, 0, 10, 6.2]
    result = evaluation.coco_map(gt, [_pred([box], [0.9], [0])])
    assert result["map50"] == pytest.approx(1.0)
    assert result["map"] == pytest.approx(0.3)
    assert evaluation.coco_map(gt, [_pred([], [], [])])["map"] == 0.0


def _random_scene(rng, count, classes):
    ground_truth, predictions = [], []
    for _ in range(count):
        n = rng.integers(0, 4)
        cells = rng.choice(16, size=n, replace=False)
        boxes = np.array([[c % 4 * 50 + 5, c // 4 * 50 + 5, c % 4 * 50 + 45, c // 4 * 50 + 45]
                          for c in cells], float).reshape(-1, 4)
        labels = rng.integers(0, classes, n)
        ground_truth.append(_gt(boxes, labels))
        jitter = boxes + rng.normal(0, 4, boxes.shape)
        noise = rng.uniform(0, 150, (2, 2))
        extra = np.concatenate([noise, noise + 40], axis=1)
        predictions.append(_pred(np.concatenate([jitter, extra]), rng.uniform(0, 1, n + 2),
                                 np.concatenate([labels, rng.integers(0, classes, 2)])))
    return ground_truth, predictions


def test_against_pycocotools_on_the_same_predictions(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt, pred = _random_scene(np.random.default_rng(3), 30, 3)
    # Our VOC-style AP at IoU 0.5 with COCO's 101 points equals COCOeval's AP50 per class mean.
    ours = evaluation.voc_map(gt, pred, 3, points=evaluation.COCO_POINTS)["map"]
    dataset, results = evaluation._coco_inputs(gt, pred)
    (tmp_path / "gt.json").write_text(json.dumps(dataset))
    (tmp_path / "dt.json").write_text(json.dumps(results))
    coco = COCO(str(tmp_path / "gt.json"))
    evaluator = COCOeval(coco, coco.loadRes(str(tmp_path / "dt.json")), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert ours == pytest.approx(evaluator.stats[1], abs=1e-6)
    assert evaluation.coco_map(gt, pred)["map"] == pytest.approx(evaluator.stats[0], abs=1e-9)
    assert 0.2 < evaluator.stats[0] < 0.95  # a case where the numbers mean something


def test_split_batch_and_length_check():
    batch = {"boxes": np.ones((2, 3, 4)), "confidence": np.ones((2, 3)),
             "labels": np.zeros((2, 3), int), "num_detections": np.array([1, 3])}
    parts = evaluation.split_batch(batch)
    assert [len(p["boxes"]) for p in parts] == [1, 3]
    with pytest.raises(ValueError, match="2 ground-truth images but predictions for 1"):
        evaluation.voc_map([_gt([], []), _gt([], [])], parts[:1], 1)
