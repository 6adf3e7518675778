import numpy as np
import pytest

from keras_muxnet.search.decomposition import get_decomposition, pbi, pbi_distances, tchebycheff


def test_pbi_distances_match_geometry():
    # Point (1, 1) against direction (1, 0) from the origin: 1 along, 1 off the line.
    d1, d2 = pbi_distances([[1.0, 1.0], [2.0, 0.0]], [1.0, 0.0], [0.0, 0.0])
    np.testing.assert_allclose(d1, [1.0, 2.0])
    np.testing.assert_allclose(d2, [1.0, 0.0])
    np.testing.assert_allclose(pbi([[1.0, 1.0]], [[2.0, 0.0]], [0.0, 0.0], theta=5.0), [6.0])


def test_pbi_prefers_the_point_on_the_direction():
    direction, ideal = [1.0, 1.0], [0.0, 0.0]
    on_line, off_line = [0.5, 0.5], [0.9, 0.1]
    g = pbi([on_line, off_line], direction, ideal, theta=5.0)
    assert g[0] < g[1]
    # with no penalty only the projection counts, and both project alike
    g0 = pbi([on_line, off_line], direction, ideal, theta=0.0)
    np.testing.assert_allclose(g0[0], g0[1])


def test_negative_theta_is_rejected():
    with pytest.raises(ValueError, match="theta must be >= 0"):
        pbi([[1.0, 1.0]], [1.0, 1.0], [0.0, 0.0], theta=-1.0)


def test_tchebycheff_and_lookup():
    np.testing.assert_allclose(tchebycheff([[1.0, 3.0]], [0.5, 0.5], [0.0, 0.0]), [1.5])
    assert get_decomposition("pbi") is pbi
    with pytest.raises(ValueError, match="unknown decomposition"):
        get_decomposition("weighted_sum")
