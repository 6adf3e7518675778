import csv

import numpy as np
import pytest

from keras_muxnet.search import peer_comparison


def test_compare_reports_both_algorithms_at_equal_evaluations():
    summary = peer_comparison.compare("dtlz2", 3, evals=455, seeds=(0,), log=lambda *_: None)
    row = summary["rows"][0]
    assert 0 < summary["ours_igd"] < 1 and 0 < summary["pymoo_igd"] < 1
    assert summary["igd_ratio"] == pytest.approx(summary["ours_igd"] / summary["pymoo_igd"])
    front = row["front"]
    assert front.shape[1] == 3 and np.all(np.linalg.norm(front, axis=1) > 0.99)  # DTLZ2: radius >= 1


def test_front_csv_has_f_columns(tmp_path):
    F = np.array([[0.1, 0.9], [0.5, 0.5]])
    peer_comparison.write_front(F, str(tmp_path / "front.csv"))
    rows = list(csv.reader(open(tmp_path / "front.csv")))
    assert rows[0] == ["f1", "f2"] and np.allclose(np.array(rows[1:], dtype=float), F)


def test_non_dominated_filter():
    F = np.array([[1.0, 1.0], [0.5, 2.0], [2.0, 2.0], [1.0, 1.0]])
    np.testing.assert_array_equal(peer_comparison.non_dominated(F), [[0.5, 2.0], [1.0, 1.0]])


def test_targets_concentrate_solutions():
    result = peer_comparison.concentration("dtlz2", 3, evals=700, seed=0, population_size=14)
    assert result["targets"] < result["uniform"]


def test_oracle_overhead_measures_both_oracles():
    result = peer_comparison.oracle_overhead(n_trials=4, rounds=1)
    assert result["moead_seconds_per_trial"] > 0 and result["random_seconds_per_trial"] > 0
    assert result["ratio"] == pytest.approx(result["moead_seconds_per_trial"] / result["random_seconds_per_trial"])
    assert result["moead_cpu_seconds_per_trial"] > 0 and result["random_cpu_seconds_per_trial"] > 0
    assert result["cpu_ratio"] == pytest.approx(
        result["moead_cpu_seconds_per_trial"] / result["random_cpu_seconds_per_trial"])


def test_unknown_problem_is_named():
    with pytest.raises(ValueError, match="unknown problem 'dtlz9'"):
        peer_comparison.get_problem("dtlz9")
