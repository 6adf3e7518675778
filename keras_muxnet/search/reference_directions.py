"""Directions for MOEA/D's sub-problems: spread uniformly, or concentrated around targets.

Uniform mode uses the Das-Dennis simplex lattice (every point with coordinates i/p summing to 1).
The paper's mode puts the directions around user-given reference targets: the direction from
the ideal point to each target, plus a small lattice of neighbours around it, so the population
spends its evaluations where the user wants solutions rather than along the whole front.
"""

import math

import numpy as np


def das_dennis(n_obj, n_partitions):
    """All points of the simplex whose coordinates are multiples of 1/n_partitions."""
    if n_obj < 1 or n_partitions < 0:
        raise ValueError(f"need n_obj >= 1 and n_partitions >= 0, got {n_obj}, {n_partitions}")
    if n_obj == 1:
        return np.ones((1, 1))
    if n_partitions == 0:
        return np.full((1, n_obj), 1.0 / n_obj)
    points = []

    def extend(prefix, left, depth):
        if depth == n_obj - 1:
            points.append(prefix + [left])
            return
        for share in range(left + 1):
            extend(prefix + [share], left - share, depth + 1)

    extend([], n_partitions, 0)
    return np.asarray(points, dtype=float) / n_partitions


def lattice_size(n_obj, n_partitions):
    """How many points das_dennis(n_obj, n_partitions) gives: C(p + m - 1, m - 1)."""
    return math.comb(n_partitions + n_obj - 1, n_obj - 1)


def uniform(n_obj, n_points, rng=None):
    """`n_points` directions: the largest Das-Dennis lattice that fits, topped up at random.

    With n_points equal to a lattice size (91 for three objectives, 12 partitions) this is
    exactly the lattice; otherwise the rest are uniform random points of the simplex.
    """
    if n_points < 1:
        raise ValueError(f"need at least one direction, got {n_points}")
    partitions = 0
    while lattice_size(n_obj, partitions + 1) <= n_points:
        partitions += 1
    directions = das_dennis(n_obj, partitions)
    missing = n_points - len(directions)
    if missing > 0:
        rng = rng if rng is not None else np.random.default_rng(0)
        directions = np.vstack([directions, rng.dirichlet(np.ones(n_obj), size=missing)])
    return directions


def concentrated(target_directions, n_points, spread=0.15):
    """`n_points` directions clustered around each of the target directions (rows, any scale).

    Each target gets an equal share (the first ones one more when it does not divide); its own
    direction comes first, then neighbours offset by `spread` times lattice points taken
    nearest to the simplex centre, clipped to stay positive. Rows are on the unit simplex.
    """
    targets = np.atleast_2d(np.asarray(target_directions, dtype=float))
    n_targets, n_obj = targets.shape
    if n_points < n_targets:
        raise ValueError(f"population of {n_points} cannot hold one sub-problem per reference "
                         f"point ({n_targets}); raise the population size")
    if np.any(targets < 0) or np.any(targets.sum(axis=1) <= 0):
        raise ValueError("target directions must be non-negative and non-zero")
    centres = targets / targets.sum(axis=1, keepdims=True)
    shares = [n_points // n_targets + (k < n_points % n_targets) for k in range(n_targets)]
    centroid = np.full(n_obj, 1.0 / n_obj)
    out = []
    for centre, share in zip(centres, shares):
        partitions = 1
        while lattice_size(n_obj, partitions) < share:
            partitions += 1
        lattice = das_dennis(n_obj, partitions)
        order = np.argsort(np.linalg.norm(lattice - centroid, axis=1), kind="stable")
        offsets = lattice[order[:share]] - centroid
        if share > 0:
            offsets[0] = 0.0
        cluster = np.clip(centre + spread * offsets, 1e-6, None)
        out.append(cluster / cluster.sum(axis=1, keepdims=True))
    return np.vstack(out)
