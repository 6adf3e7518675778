import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet.detection import loss


def _case():
    # One image, 6 anchors, 2 classes (+ background): anchor 0 positive (class 2).
    y_true = np.zeros((1, 6, 5), np.float32)
    y_true[0, 0] = [0.5, -0.5, 2.0, 0.0, 2]
    y_pred = np.zeros((1, 6, 7), np.float32)
    y_pred[0, :, 4] = [0, 1, 2, 3, 4, 5]  # background logits: anchor 1 is the hardest negative
    return y_true, y_pred


def _ce(logits, label):
    logits = np.asarray(logits, np.float64)
    return np.log(np.exp(logits).sum()) - logits[label]


def test_smooth_l1_and_hard_negatives_by_hand():
    y_true, y_pred = _case()
    loc, cls, num_pos = loss.ssd_losses(y_true, y_pred)
    # smooth L1 of (-0.5, 0.5, -2, 0): 0.125 + 0.125 + 1.5 + 0
    np.testing.assert_allclose(loc, [1.75], rtol=1e-6)
    # 1 positive -> max(3 x 1, 3) = 3 negatives with the highest loss: lowest background logits 1, 2, 3.
    expected = _ce(y_pred[0, 0, 4:], 2) + sum(_ce(y_pred[0, i, 4:], 0) for i in (1, 2, 3))
    np.testing.assert_allclose(cls, [expected], rtol=1e-5)
    assert int(num_pos) == 1
    value = float(loss.SSDLoss()(tf.constant(y_true), tf.constant(y_pred)))
    np.testing.assert_allclose(value, 1.75 + expected, rtol=1e-5)


def test_image_without_objects_trains_on_its_hardest_negatives():
    y_true = np.zeros((2, 6, 5), np.float32)
    y_pred = np.random.default_rng(0).normal(size=(2, 6, 7)).astype(np.float32)
    value = float(loss.SSDLoss()(tf.constant(y_true), tf.constant(y_pred)))
    assert np.isfinite(value) and value > 0


def test_focal_loss_by_hand():
    y_true, y_pred = _case()
    loc, cls, _ = loss.ssd_losses(y_true, y_pred, classification="focal")
    np.testing.assert_allclose(loc, [1.75], rtol=1e-6)
    expected = 0.0
    for i in range(6):
        label = 2 if i == 0 else 0
        logits = np.asarray(y_pred[0, i, 4:], np.float64)
        p = np.exp(logits[label]) / np.exp(logits).sum()
        expected += (0.25 if i == 0 else 0.75) * (1 - p) ** 2 * -np.log(p)
    np.testing.assert_allclose(cls, [expected], rtol=1e-5)
    config = loss.SSDLoss(classification="focal").get_config()
    assert loss.SSDLoss.from_config(config).classification == "focal"
    with pytest.raises(ValueError, match="classification must be one of"):
        loss.SSDLoss(classification="ohem")
