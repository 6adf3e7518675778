import numpy as np
import pytest

from keras_muxnet.detection import boxes


def test_check_boxes_names_the_problem():
    ok, labels = boxes.check_boxes([[1, 2, 30, 40]], [4], num_classes=5, width=50, height=50)
    assert ok.shape == (1, 4) and labels.tolist() == [4]
    with pytest.raises(ValueError, match="box 1 .* empty or flipped"):
        boxes.check_boxes([[1, 2, 30, 40], [10, 2, 5, 40]], [0, 0], 5, 50, 50)
    with pytest.raises(ValueError, match="outside the image"):
        boxes.check_boxes([[1, 2, 60, 40]], [0], 5, 50, 50)
    with pytest.raises(ValueError, match="label 5 of box 0 is not a class index in \\[0, 5\\)"):
        boxes.check_boxes([[1, 2, 30, 40]], [5], 5, 50, 50)
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        boxes.check_boxes([[1, 2, 30, 40]] * 2, [0], 5, 50, 50)


def test_iou_matrix_and_numpy_agree():
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], np.float32)
    b = np.array([[0, 0, 10, 10], [10, 10, 20, 20], [0, 0, 5, 5]], np.float32)
    matrix = boxes.iou_matrix(a, b).numpy()
    np.testing.assert_allclose(matrix[0], [1.0, 0.0, 0.25], atol=1e-6)
    np.testing.assert_allclose(matrix[1, 0], 25 / 175, atol=1e-6)
    for i in range(2):
        np.testing.assert_allclose(boxes.iou_numpy(a[i], b), matrix[i], atol=1e-6)
