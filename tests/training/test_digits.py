"""scikit-learn's digits as RGB images."""

import numpy as np
import pytest

from keras_muxnet.training import digits

pytestmark = pytest.mark.both_modes


def test_digits_split_is_stratified_rgb_and_reproducible():
    (x_train, y_train), (x_val, y_val) = digits.load_digits(validation_fraction=0.2, seed=0)
    assert x_train.shape[1:] == (8, 8, 3) and x_train.dtype == np.uint8
    assert len(x_train) + len(x_val) == 1797 and len(x_val) == 360
    assert x_train.max() == 255 and x_train.min() == 0
    np.testing.assert_array_equal(x_train[..., 0], x_train[..., 2])
    assert np.bincount(y_val, minlength=10).min() >= 35  # every digit held out ~36 times
    (again, _), _ = digits.load_digits(seed=0)
    np.testing.assert_array_equal(again, x_train)
    with pytest.raises(ValueError, match="validation_fraction"):
        digits.load_digits(validation_fraction=1.5)


def test_at_a_size_the_images_are_what_the_evaluation_pipeline_gives():
    from keras_muxnet.training import data

    (x8, y8), (v8, _) = digits.load_digits(seed=1)
    (x, y), (v, _) = digits.load_digits(size=24, seed=1)
    assert x.shape == (len(x8), 24, 24, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(y, y8)
    assert 0 <= x.min() and x.max() <= 255 and x.max() > 200
    piped = np.concatenate([b.numpy() for b, _ in data.array_dataset(v8, np.zeros(len(v8), "int32"),
                                                                      1, False, 24, 64)])
    np.testing.assert_array_equal(v, piped)
    with pytest.raises(ValueError, match="size must be an integer of at least 8"):
        digits.load_digits(size=4)
