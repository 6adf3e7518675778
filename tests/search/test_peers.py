import numpy as np
import pytest

from keras_muxnet.search import peer_comparison, peers


@pytest.mark.slow
def test_every_peer_spends_exactly_the_budget_on_the_same_problem():
    summary = peer_comparison.compare("dtlz2", 3, evals=182, seeds=(0, 1), log=lambda *_: None,
                                      vs="optuna-nsga2,optuna-nsga3,pymoo-moead,pymoo-nsga3")
    assert list(summary["methods"]) == ["ours", "optuna-nsga2", "optuna-nsga3", "pymoo-moead", "pymoo-nsga3"]
    for name, medians in summary["methods"].items():
        assert medians["evaluations"] == [182, 182], name  # counted by the wrapper, not reported by the library
        assert 0 < medians["archive_igd"] < 1 and medians["archive_hv"] > 0, name
        if name.startswith("optuna"):
            assert medians["igd"] is None  # Optuna keeps no population: only its archive is scored
        else:  # the final population is a subset of all evaluated: its hypervolume cannot exceed theirs
            assert medians["igd"] > 0 and medians["archive_hv"] >= medians["hv"] - 1e-12, name
    for row in summary["rows"]:
        archive = row["optuna-nsga2"]["archive"]
        assert archive.shape[1] == 3 and np.all(np.linalg.norm(archive, axis=1) > 0.99)  # DTLZ2: radius >= 1
    assert summary["igd_ratio"] == pytest.approx(summary["ours_igd"] / summary["pymoo_igd"])


def test_same_seed_same_front():
    problem = peer_comparison.get_problem("zdt1", 2)
    first, second = (peers.CountedProblem(problem) for _ in range(2))
    peers.run("optuna-nsga2", first, 120, seed=3)
    peers.run("optuna-nsga2", second, 120, seed=3)
    np.testing.assert_array_equal(first.evaluated(), second.evaluated())
    assert first.evaluations == 120


def test_peer_names_parse_from_commas_and_repeats():
    assert peers.parse_peers(["optuna-nsga2,pymoo-moead", "PYMOO-NSGA3", "optuna-nsga2"]) == (
        "optuna-nsga2", "pymoo-moead", "pymoo-nsga3")
    with pytest.raises(ValueError, match="unknown peer 'hyperopt'"):
        peers.parse_peers("hyperopt")


def test_a_missing_peer_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(peers.PEERS, "absent-peer", (None, "no_such_package_for_peers", False))
    with pytest.raises(RuntimeError, match=r"needs the package 'no_such_package_for_peers'.*keras-muxnet\[search\]"):
        peers.run("absent-peer", None, 10, 0)


def test_a_budget_pymoo_would_overrun_is_refused():
    with pytest.raises(ValueError, match="whole generations of 91.*multiple of 91"):
        peer_comparison.compare("dtlz2", 3, evals=300, seeds=(0,), vs="pymoo-nsga3")
    peers.check_budget("optuna-nsga3", 300, 3)  # Optuna stops at any trial
