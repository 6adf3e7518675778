import numpy as np
import pytest

from keras_muxnet.search.reference_directions import concentrated, das_dennis, lattice_size, uniform


def test_das_dennis_lattice():
    points = das_dennis(3, 12)
    assert points.shape == (91, 3) == (lattice_size(3, 12), 3)
    np.testing.assert_allclose(points.sum(axis=1), 1.0)
    assert len(np.unique(points, axis=0)) == 91
    assert np.all(points >= 0)


def test_uniform_tops_up_to_the_requested_size():
    directions = uniform(3, 40, np.random.default_rng(0))
    assert directions.shape == (40, 3)
    np.testing.assert_allclose(directions.sum(axis=1), 1.0)
    np.testing.assert_allclose(directions[:36], das_dennis(3, 7))


def test_concentrated_directions_cluster_around_targets():
    targets = np.array([[1.0, 0.2, 0.2], [0.1, 0.1, 1.0]])
    directions = concentrated(targets, 20, spread=0.15)
    assert directions.shape == (20, 3)
    np.testing.assert_allclose(directions.sum(axis=1), 1.0)
    centres = targets / targets.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(directions[0], centres[0])
    np.testing.assert_allclose(directions[10], centres[1])
    nearest = np.linalg.norm(directions[:, None] - centres[None], axis=2).min(axis=1)
    assert nearest.max() < 0.2  # all near a target, whereas a uniform lattice spans the simplex
    assert np.linalg.norm(das_dennis(3, 4)[:, None] - centres[None], axis=2).min(axis=1).max() > 0.4


def test_population_smaller_than_targets_is_rejected():
    with pytest.raises(ValueError, match="cannot hold one sub-problem per reference point"):
        concentrated(np.eye(3), 2)
