import numpy as np
import pytest

from keras_muxnet.detection import digit_scenes


@pytest.fixture(scope="module")
def scenes():
    return digit_scenes.load_digit_scenes(train_count=8, heldout_count=4, size=64, seed=0)


def test_shapes_labels_and_boxes(scenes):
    (images, boxes, labels), (held_images, held_boxes, _) = scenes
    assert images.shape == (8, 64, 64, 3) and images.dtype == np.uint8
    assert held_images.shape == (4, 64, 64, 3)
    for b, lab in zip(boxes + held_boxes, labels + [np.zeros(len(b)) for b in held_boxes]):
        assert len(b) == len(lab) and len(b) >= 1
        assert np.all(b[:, 2] > b[:, 0]) and np.all(b >= 0) and np.all(b <= 64)
    assert set(np.concatenate(labels)) <= set(range(10))


def test_same_seed_same_scenes_and_a_digit_box_is_tight():
    photos = digit_scenes._photos()
    digit = np.zeros((8, 8), np.float32)
    digit[2:6, 3:5] = 16.0  # a bar: its mask above 0.5 is the middle of the pasted square
    rng = np.random.default_rng(5)
    image, boxes, labels = digit_scenes.render_scene(rng, photos, digit[None], [7], size=96,
                                                     max_digits=1)
    again = digit_scenes.render_scene(np.random.default_rng(5), photos, digit[None], [7], size=96,
                                      max_digits=1)
    np.testing.assert_array_equal(image, again[0])
    assert labels.tolist() == [7]
    x1, y1, x2, y2 = boxes[0]
    side_x, side_y = x2 - x1, y2 - y1
    # The square is 12-48 px (24-96 scaled by 96 / 192); the bar is half of it high, a quarter wide.
    assert 6 <= side_y <= 25 and 1.5 <= side_y / side_x <= 2.7
