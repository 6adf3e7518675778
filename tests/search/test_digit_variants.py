import numpy as np
import pytest

from keras_muxnet.search.digit_variants import Variants, warp


def images(n=5, side=12, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, side, side, 3), np.float32)
    x[:, 3:9, 4:8] = rng.uniform(100, 255, (n, 6, 4, 3))  # a bright blob on a 0 background
    return x, np.arange(n) % 3


def test_variants_are_fixed_by_their_seed_and_sized_as_promised():
    x, y = images()
    first, labels = Variants(copies=4, seed=1).apply(x, y)
    again, _ = Variants(copies=4, seed=1).apply(x, y)
    other, _ = Variants(copies=4, seed=2).apply(x, y)
    assert first.shape == (20, 12, 12, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(labels, np.tile(y, 4))
    np.testing.assert_array_equal(first, again)  # the same set for every candidate and seed
    np.testing.assert_array_equal(first[:5], x)  # copy 0 is the plain set
    assert not np.allclose(first[5:], np.tile(x, (3, 1, 1, 1)), atol=1.0)  # the others are not
    assert not np.allclose(first[5:], other[5:], atol=1.0)
    # Small maps keep the image: the blob's brightness stays within 0-255 and mostly in frame.
    assert first.min() >= 0 and first.max() <= 255
    np.testing.assert_allclose(first[5:].sum(axis=(1, 2, 3)), np.tile(x.sum(axis=(1, 2, 3)), 3), rtol=0.5)
    assert Variants(copies=1).apply(x, y)[0].shape == x.shape
    # Every candidate asks for the same set: it is made once, and nobody can change it.
    assert Variants(copies=4, seed=1).apply(x, y)[0] is first and not first.flags.writeable


def test_warp_moves_rotates_and_zooms_about_the_centre():
    x, _ = images(1)
    image = x[0]
    np.testing.assert_allclose(warp(image, 0.0, 1.0, (0, 0)), image, atol=1e-4)
    moved = warp(image, 0.0, 1.0, (2, -1))  # 2 rows down, 1 column left
    np.testing.assert_allclose(moved[5:11, 3:7], image[3:9, 4:8], atol=1e-4)
    turned = warp(image, np.pi / 2, 1.0, (0, 0))  # a quarter turn maps the 6x4 blob to 4x6
    rows, cols = np.nonzero(turned[..., 0] > 1)
    assert (np.ptp(rows) + 1, np.ptp(cols) + 1) == (4, 6)
    zoomed = warp(image, 0.0, 2.0, (0, 0))
    assert (zoomed[..., 0] > 1).sum() > 3 * (image[..., 0] > 1).sum()


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="copies must be a positive integer"):
        Variants(copies=0)
    with pytest.raises(ValueError, match="need shift and scale in"):
        Variants(shift=0.6)
    with pytest.raises(ValueError, match="rotation in"):
        Variants(rotation=90)
    with pytest.raises(ValueError, match="need N x H x W x C images and N labels"):
        Variants().apply(np.zeros((4, 8, 8)), np.zeros(4))
