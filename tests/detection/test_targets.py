import numpy as np

from keras_muxnet.detection import anchors as anchors_lib, box_coding, targets


def _anchors():
    return anchors_lib.generate([(4, 4), (2, 2), (1, 1)])


def test_matching_threshold_force_match_and_codes():
    anchors = _anchors()
    corners = anchors_lib.to_corners(anchors)
    exact = corners[5]                                     # one anchor exactly
    tiny = np.array([0.9, 0.9, 0.93, 0.93], np.float32)    # IoU < 0.5 with every anchor
    out = targets.encode(np.stack([exact, tiny]), [3, 7], anchors).numpy()
    classes = out[:, 4].astype(int)
    assert classes[5] == 4                                 # label 3 + 1 (0 is background)
    np.testing.assert_allclose(out[5, :4], 0, atol=1e-5)   # a perfect match codes to zero
    assert (classes == 8).sum() == 1                       # the tiny box forces its best anchor
    forced = int(np.argmax(classes == 8))
    np.testing.assert_allclose(box_coding.decode(out[forced:forced + 1, :4], anchors[forced:forced + 1]),
                               [tiny], atol=1e-5)
    # Every positive anchor other than the forced one overlaps its box by >= 0.5.
    iou = targets.iou_matrix(corners, exact[None]).numpy()[:, 0]
    assert set(np.flatnonzero(classes == 4)) == set(np.flatnonzero(iou >= 0.5))
    np.testing.assert_array_equal(out[classes == 0, :4], 0)


def test_image_without_boxes_is_all_background():
    out = targets.encode(np.zeros((0, 4), np.float32), np.zeros((0,), np.int32), _anchors())
    assert out.shape == (len(_anchors()), 5) and not np.any(out.numpy())
