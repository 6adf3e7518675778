"""A trivial Keras-Tuner search driven by MOEADOracle, run as a process by the oracle tests.

usage: toy_search.py DIRECTORY MAX_TRIALS [--crash-at TRIAL_NUMBER] [--sleep SECONDS]
Prints "DONE <completed trials>" at the end. With --crash-at, the process dies (os._exit)
in the middle of that trial, as a killed search would.
"""

import argparse
import os
import sys
import time

import keras_tuner

from keras_muxnet.search.oracle import MOEADOracle, with_multi_objective

OBJECTIVES = [keras_tuner.Objective("f1", "min"), keras_tuner.Objective("f2", "min")]


def declare(hp):
    hp.Float("x", 0.0, 1.0)
    hp.Int("y", 0, 10)
    hp.Choice("c", [1, 2, 3])


class ToyTuner(keras_tuner.Tuner):
    crash_at = None
    sleep = 0.0

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        if self.crash_at is not None and int(trial.trial_id) == self.crash_at:
            os._exit(3)
        time.sleep(self.sleep)
        x, y, c = hp["x"], hp["y"], hp["c"]
        metrics = {"f1": x + y / 10.0, "f2": (1.0 - x) ** 2 + c / 3.0 + (10 - y) / 10.0,
                   "worker": float(os.getpid())}
        return with_multi_objective(metrics, OBJECTIVES)


def make_tuner(directory, max_trials, seed=1, overwrite=False):
    oracle = MOEADOracle(OBJECTIVES, max_trials=max_trials, population_size=6,
                         neighbourhood_size=3, seed=seed, idle_wait=0.05)
    return ToyTuner(oracle=oracle, hypermodel=declare, directory=directory,
                    project_name="toy", overwrite=overwrite)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("max_trials", type=int)
    parser.add_argument("--crash-at", type=int, default=None)
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args(argv)
    tuner = make_tuner(args.directory, args.max_trials)
    tuner.crash_at, tuner.sleep = args.crash_at, args.sleep
    tuner.search(verbose=0)
    if not tuner._is_worker():
        completed = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
        print(f"DONE {len(completed)} {tuner.oracle.core.n_evaluations}", flush=True)
    else:
        print("WORKER DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
