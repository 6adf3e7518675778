import numpy as np
import pytest

from keras_muxnet.search.variation import MixedSpace, Variable


def space():
    return MixedSpace([Variable("lr", "float", 1e-4, 1e-1, log=True),
                       Variable("blocks", "int", 1, 7, step=2),
                       Variable("kernel", "choice", values=(3, 5, 7)),
                       Variable("ratio", "float", 0.0, 1.0)])


def test_encode_decode_round_trip():
    s = space()
    values = {"lr": 1e-3, "blocks": 5, "kernel": 7, "ratio": 0.25}
    decoded = s.decode(s.encode(values))
    assert decoded["blocks"] == 5 and decoded["kernel"] == 7
    assert decoded["lr"] == pytest.approx(1e-3) and decoded["ratio"] == pytest.approx(0.25)
    assert s.decode(np.zeros(4))["blocks"] == 1 and s.decode(np.ones(4))["blocks"] == 7
    assert s.variables[1].n_values == 4


def test_offspring_stay_in_bounds_and_vary_every_type():
    s, rng = space(), np.random.default_rng(0)
    parents = rng.random((2, 4))
    seen = {name: set() for name in ("blocks", "kernel")}
    for _ in range(300):
        child = s.offspring(parents[0], parents[1], rng)
        assert np.all((child >= 0) & (child <= 1))
        values = s.decode(child)
        for name in seen:
            seen[name].add(values[name])
    assert seen["kernel"] == {3, 5, 7} and len(seen["blocks"]) >= 3


def test_sbx_children_lie_around_the_parents():
    s, rng = MixedSpace.continuous(1), np.random.default_rng(1)
    children = np.array([s.crossover([0.4], [0.6], rng)[0] for _ in range(2000)])
    assert abs(np.median(children) - 0.5) < 0.1
    assert np.mean(np.abs(children - 0.5) < 0.15) > 0.8


def test_bad_variables_are_named():
    with pytest.raises(ValueError, match="'depth': kind must be one of"):
        Variable("depth", "bool")
    with pytest.raises(ValueError, match="'lr': log scale needs a float with low > 0"):
        Variable("lr", "float", 0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="no variables"):
        MixedSpace([])
