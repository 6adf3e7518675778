"""MOEADOracle through real Keras-Tuner searches on a trivial objective (tests/search/toy_search.py)."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import keras_tuner
import numpy as np
import pytest

from keras_muxnet.search.oracle import MOEADOracle, non_dominated_mask, with_multi_objective

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import toy_search  # noqa: E402

REPO = HERE.parents[1]
OBJECTIVES = toy_search.OBJECTIVES


def test_search_state_and_pareto_ordering(tmp_path):
    tuner = toy_search.make_tuner(str(tmp_path), 14, overwrite=True)
    tuner.search(verbose=0)
    oracle = tuner.oracle
    assert len(oracle.trials) == 14 and oracle.core.n_evaluations == 14
    best = oracle.get_best_trials(100)
    completed = oracle.completed_trials()
    F = np.array([oracle.objective_vector(t) for t in completed])
    expected = {t.trial_id for t, keep in zip(completed, non_dominated_mask(F)) if keep}
    assert {t.trial_id for t in best} == expected  # exactly the non-dominated trials
    assert oracle.get_best_trials(1)[0].trial_id == best[0].trial_id
    state = json.loads(json.dumps(oracle.get_state()))  # JSON-serializable
    assert len(state["moead"]["told"]) == 14
    # the population evolved: later trials are not all random draws of the first round
    assert oracle.core.n_asked_initial == 6 and oracle.core.scaled


@pytest.mark.slow
def test_resume_after_kill_loses_and_repeats_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERASTUNER_ORACLE_IP", None)
    script = [sys.executable, str(HERE / "toy_search.py"), str(tmp_path), "12"]
    crashed = subprocess.run(script + ["--crash-at", "7"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert crashed.returncode == 3, crashed.stderr[-2000:]
    project = tmp_path / "toy"
    status = {p.parent.name: json.loads(p.read_text())["status"] for p in project.glob("trial_*/trial.json")}
    assert status["trial_07"] == "RUNNING" and sum(s == "COMPLETED" for s in status.values()) == 7
    tuner = toy_search.make_tuner(str(tmp_path), 12)  # resume in this process, overwrite=False
    tuner.search(verbose=0)
    assert len(tuner.oracle.trials) == 12 and tuner.oracle.core.n_evaluations == 12

    tuner = toy_search.make_tuner(str(tmp_path), 12)  # reload what was saved
    oracle = tuner.oracle
    assert sorted(oracle.trials) == [f"{i:02d}" for i in range(12)]
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())
    assert oracle.core.n_evaluations == 12 and len(oracle._told) == 12


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers(tmp_path):
    port = str(free_port())
    base = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3",
            "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port}
    script = [sys.executable, str(HERE / "toy_search.py"), str(tmp_path), "10", "--sleep", "0.3"]
    processes = {name: subprocess.Popen(script, env={**base, "KERASTUNER_TUNER_ID": name},
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name in ("chief", "tuner0", "tuner1")}
    outputs = {}
    try:
        for name, process in processes.items():
            outputs[name] = process.communicate(timeout=150)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    for name, process in processes.items():
        assert process.returncode == 0, (name, outputs[name][1][-2000:])
    assert "DONE 10 10" in outputs["chief"][0]
    tuner = toy_search.make_tuner(str(tmp_path), 10)
    workers = {t.metrics.get_last_value("worker") for t in tuner.oracle.trials.values()}
    assert len(workers) == 2  # both workers ran trials
    assert len(tuner.oracle.get_best_trials(10)) >= 1


class Failing(keras_tuner.Tuner):
    def run_trial(self, trial, *args, **kwargs):
        x = trial.hyperparameters["x"]
        if x > 0.5:
            raise keras_tuner.errors.FailedTrialError(f"candidate x={x} cannot be built")
        return with_multi_objective({"f1": x, "f2": 1 - x ** 0.5}, OBJECTIVES)


def declare_x(hp):
    hp.Float("x", 0.0, 1.0)


def test_failed_candidates_are_recorded_and_the_search_goes_on(tmp_path):
    oracle = MOEADOracle(OBJECTIVES, max_trials=16, population_size=4, neighbourhood_size=2,
                         seed=2, max_consecutive_failed_trials=16)
    tuner = Failing(oracle=oracle, hypermodel=declare_x, directory=str(tmp_path), project_name="f")
    tuner.search(verbose=0)
    statuses = [t.status for t in oracle.trials.values()]
    assert len(statuses) == 16 and "FAILED" in statuses and "COMPLETED" in statuses
    assert oracle.core.n_evaluations == statuses.count("COMPLETED")
    assert not oracle.core.pending


class Silent(keras_tuner.Tuner):
    def run_trial(self, trial, *args, **kwargs):
        return {"f1": 1.0, "multi_objective": 1.0}


def test_objective_no_trial_reports_stops_with_a_clear_error(tmp_path):
    oracle = MOEADOracle(OBJECTIVES, max_trials=3, population_size=4, neighbourhood_size=2)
    tuner = Silent(oracle=oracle, hypermodel=declare_x, directory=str(tmp_path), project_name="s")
    with pytest.raises(keras_tuner.errors.FatalValueError, match=r"did not report the objective\(s\) \['f2'\]"):
        tuner.search(verbose=0)


@pytest.mark.parametrize("declare, message", [
    (lambda hp: hp.Float("lr", 1e-4, 1e-1, sampling="reverse_log"),
     "cannot handle Float 'lr' with sampling='reverse_log'"),
    (lambda hp: [hp.Choice("kind", ["a", "b"]),
                 hp.Int("depth", 1, 3, parent_name="kind", parent_values=["a"])],
     "cannot vary the conditional hyperparameter 'depth'"),
])
def test_space_the_operators_cannot_handle_is_named(tmp_path, declare, message):
    oracle = MOEADOracle(OBJECTIVES, max_trials=2, population_size=4, neighbourhood_size=2)
    tuner = Silent(oracle=oracle, hypermodel=declare, directory=str(tmp_path), project_name="u")
    with pytest.raises(ValueError, match=message):
        tuner.search(verbose=0)


def test_constructor_rejects_bad_inputs():
    three = OBJECTIVES + [keras_tuner.Objective("f3", "max")]
    with pytest.raises(ValueError, match=r"reference point 0 has 2 values, expected 3"):
        MOEADOracle(three, reference_points=[[0.1, 0.2]])
    with pytest.raises(ValueError, match=r"reference point 1 names \['f1'\], expected"):
        MOEADOracle(OBJECTIVES, reference_points=[{"f1": 0, "f2": 0}, {"f1": 0}])
    with pytest.raises(ValueError, match="theta must be >= 0"):
        MOEADOracle(OBJECTIVES, theta=-1)
    with pytest.raises(ValueError, match="population_size 2 is smaller than the number of reference points"):
        MOEADOracle(OBJECTIVES, population_size=2, reference_points=[[0, 0], [1, 1], [2, 2]])
    with pytest.raises(ValueError, match="at least two objectives"):
        MOEADOracle([keras_tuner.Objective("f1", "min")])
    with pytest.raises(ValueError, match="list of at least two keras_tuner.Objective"):
        MOEADOracle("val_accuracy")
