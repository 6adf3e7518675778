"""Scalarizing functions that turn a multi-objective vector into one value per direction.

MOEA/D solves one sub-problem per direction. The paper (like pymoo's default for three or more
objectives) uses the penalty-based boundary intersection (PBI): with z* the ideal point and w a
direction, d1 is the distance travelled along w and d2 the distance off the line through z*
along w; g = d1 + theta * d2. Tchebycheff is here for comparison (and two-objective problems).
All functions take objective vectors for minimization, already normalized if wanted.
"""

import numpy as np


def _as_2d(values):
    values = np.asarray(values, dtype=float)
    return values[None] if values.ndim == 1 else values


def pbi_distances(F, weights, ideal):
    """(d1, d2) of each objective vector F[i] with respect to its direction weights[i].

    F and weights broadcast against each other: (n, m) with (n, m), (1, m) or (m,).
    """
    F, weights = _as_2d(F), _as_2d(weights)
    unit = weights / np.linalg.norm(weights, axis=1, keepdims=True)
    shifted = F - np.asarray(ideal, dtype=float)
    d1 = np.abs(np.sum(shifted * unit, axis=1))
    d2 = np.linalg.norm(shifted - d1[:, None] * unit, axis=1)
    return d1, d2


def pbi(F, weights, ideal, theta=5.0):
    """Penalty-based boundary intersection g = d1 + theta * d2 (smaller is better)."""
    if theta < 0:
        raise ValueError(f"PBI penalty theta must be >= 0, got {theta}")
    d1, d2 = pbi_distances(F, weights, ideal)
    return d1 + theta * d2


def tchebycheff(F, weights, ideal, theta=None):
    """Weighted Tchebycheff max_j w_j |F_j - z*_j| (theta is ignored; same signature as pbi)."""
    F, weights = _as_2d(F), _as_2d(weights)
    return np.max(np.maximum(weights, 1e-6) * np.abs(F - np.asarray(ideal, dtype=float)), axis=1)


DECOMPOSITIONS = {"pbi": pbi, "tchebycheff": tchebycheff}


def get_decomposition(name):
    """Look a scalarizing function up by name ('pbi' or 'tchebycheff')."""
    if name not in DECOMPOSITIONS:
        raise ValueError(f"unknown decomposition {name!r}; expected one of {sorted(DECOMPOSITIONS)}")
    return DECOMPOSITIONS[name]
