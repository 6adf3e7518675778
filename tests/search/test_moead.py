import json

import numpy as np
import pytest

from keras_muxnet.search.moead import MOEAD
from keras_muxnet.search.variation import MixedSpace


def dtlz2(x, n_obj=3):
    """DTLZ2 written out (front: the unit sphere's positive orthant)."""
    x = np.asarray(x)
    g = np.sum((x[n_obj - 1:] - 0.5) ** 2)
    f = []
    for i in range(n_obj):
        value = 1.0 + g
        for xj in x[:n_obj - 1 - i]:
            value *= np.cos(xj * np.pi / 2)
        if i > 0:
            value *= np.sin(x[n_obj - 1 - i] * np.pi / 2)
        f.append(value)
    return np.array(f)


def run(optimizer, evals):
    for _ in range(evals):
        ticket, x = optimizer.ask()
        optimizer.tell(ticket, dtlz2(x))
    return optimizer


def test_converges_on_dtlz2():
    optimizer = run(MOEAD(MixedSpace.continuous(7), 3, population_size=28, n_neighbors=8, nr=8,
                          normalize=False, seed=0), 2000)
    _, F = optimizer.population()
    radius = np.linalg.norm(F, axis=1)
    assert np.median(radius) < 1.05  # on the front, which has radius 1
    assert len(np.unique(np.round(F, 3), axis=0)) > 20  # and spread over it


def test_reference_points_concentrate_the_population():
    targets = np.array([[0.2, 0.3, 1.0]])
    d2 = {}
    for mode, refs in (("uniform", None), ("targets", targets)):
        optimizer = run(MOEAD(MixedSpace.continuous(7), 3, population_size=15, reference_points=refs,
                              n_neighbors=5, seed=0), 1200)
        _, F = optimizer.population()
        unit = targets[0] / np.linalg.norm(targets[0])
        d2[mode] = np.median(np.linalg.norm(F - (F @ unit)[:, None] * unit, axis=1))
    assert d2["targets"] < 0.5 * d2["uniform"]


def test_state_round_trips_through_json_and_continues_identically():
    def fresh():
        return MOEAD(MixedSpace.continuous(5), 3, population_size=10, n_neighbors=4, seed=3,
                     reference_points=[[0.5, 0.5, 0.5]])

    first = run(fresh(), 25)
    pending = first.ask()  # one candidate still out when the state is saved
    state = json.loads(json.dumps(first.get_state()))
    second = fresh()
    second.set_state(state)
    for optimizer in (first, second):
        optimizer.tell(pending[0], dtlz2(pending[1]))
        run(optimizer, 20)
    np.testing.assert_array_equal(first.F, second.F)
    assert first.n_evaluations == second.n_evaluations == 46


def test_failed_candidates_leave_slots_that_children_fill():
    optimizer = MOEAD(MixedSpace.continuous(4), 2, population_size=6, n_neighbors=3, seed=0)
    tickets = [optimizer.ask() for _ in range(6)]
    for ticket, x in tickets[:4]:
        optimizer.tell(ticket, dtlz2(x, 2))
    for ticket, _ in tickets[4:]:
        optimizer.forget(ticket)
    run_2 = [optimizer.ask() for _ in range(30)]
    for ticket, x in run_2:
        optimizer.tell(ticket, dtlz2(x, 2))
    assert not np.isnan(optimizer.F).any()


def test_bad_inputs_are_explained():
    space = MixedSpace.continuous(3)
    with pytest.raises(ValueError, match="reference points have 2 objectives, expected 3"):
        MOEAD(space, 3, reference_points=[[1.0, 2.0]])
    with pytest.raises(ValueError, match="theta must be >= 0"):
        MOEAD(space, 3, theta=-0.5)
    with pytest.raises(ValueError, match="population of 2 cannot hold one sub-problem per reference point"):
        MOEAD(space, 3, population_size=2, reference_points=np.ones((3, 3)))
    optimizer = MOEAD(space, 3, population_size=4, n_neighbors=2)
    ticket, x = optimizer.ask()
    with pytest.raises(ValueError, match="expected 3 finite objective values"):
        optimizer.tell(ticket, [1.0, np.nan, 2.0])
    optimizer.tell(ticket, [1.0, 1.0, 1.0])
    with pytest.raises(KeyError, match="already told"):
        optimizer.tell(ticket, [1.0, 1.0, 1.0])


def test_a_state_saved_with_float_lists_still_restores():
    """States written before arrays were packed (nested lists, None for NaN) resume the same."""
    def fresh():
        return MOEAD(MixedSpace.continuous(4), 2, population_size=6, n_neighbors=3, seed=5)

    first = fresh()
    for _ in range(4):  # part of the initial population: F still has empty (NaN) rows
        ticket, x = first.ask()
        first.tell(ticket, x[:2])
    state = json.loads(json.dumps(first.get_state()))
    assert isinstance(state["X"], dict) and isinstance(state["F"], dict)

    def as_lists(array):
        return [[None if np.isnan(v) else v for v in row] for row in array]

    old = dict(state, X=as_lists(first.X), F=as_lists(first.F), directions=first.directions.tolist(),
               evaluated_F=[list(f) for f in first.evaluated_F])
    for saved in (state, old):
        second = fresh()
        second.set_state(saved)
        np.testing.assert_array_equal(second.X, first.X)  # NaN rows included
        np.testing.assert_array_equal(second.F, first.F)
        np.testing.assert_array_equal(second.directions, first.directions)
        assert second.evaluated_F == first.evaluated_F
