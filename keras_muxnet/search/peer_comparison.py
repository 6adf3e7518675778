"""Our MOEA/D core against pymoo's MOEA/D on pymoo's test problems, at equal evaluations.

`compare()` runs both on DTLZ1/DTLZ2/ZDT1 for several seeds and reports the median inverted
generational distance (IGD, smaller is better) and hypervolume (larger is better) of each final
front, measured by pymoo's own indicators against the problem's true Pareto front. Both use the
same directions (a Das-Dennis lattice), neighbourhood size 20, mating within it with probability
0.9, SBX and polynomial mutation with eta 20, the same decomposition (pymoo's default: PBI with
theta 5 for three objectives, Tchebycheff for two), and, like pymoo, no objective normalization
and no bound on replacements (nr = neighbourhood size, as in Zhang and Li's original MOEA/D). `concentration()` shows what reference targets do: the
median PBI d2 of the final solutions to the nearest target direction, with and without targets.
`oracle_overhead()` times Keras-Tuner trials of a trivial objective driven by `MOEADOracle` and
by keras-tuner's `RandomSearch` oracle.
"""

import csv
import os
import statistics
import tempfile
import time

import numpy as np

from keras_muxnet._files import atomic_output
from keras_muxnet.search.decomposition import pbi_distances
from keras_muxnet.search.moead import MOEAD
from keras_muxnet.search.variation import MixedSpace

PROBLEMS = ("dtlz1", "dtlz2", "zdt1")
PARTITIONS = {2: 99, 3: 12}  # 100 directions for 2 objectives, 91 for 3


def get_problem(name, n_obj=3):
    """A pymoo test problem by name (ZDT1 has two objectives)."""
    from pymoo.problems import get_problem as pymoo_problem

    name = name.lower()
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; expected one of {PROBLEMS}")
    if name == "zdt1":
        if n_obj != 2:
            raise ValueError(f"zdt1 has 2 objectives, not {n_obj}")
        return pymoo_problem("zdt1")
    if n_obj not in PARTITIONS:
        raise ValueError(f"{name} is benchmarked with 2 or 3 objectives, not {n_obj}")
    return pymoo_problem(name, n_obj=n_obj)


def lattice(n_obj):
    from pymoo.util.ref_dirs import get_reference_directions

    return get_reference_directions("das-dennis", n_obj, n_partitions=PARTITIONS[n_obj])


def default_decomposition(n_obj):
    """pymoo's own default: Tchebycheff for two objectives, PBI above."""
    return "tchebycheff" if n_obj == 2 else "pbi"


def non_dominated(F):
    """Rows of F that no other row dominates (duplicates kept once)."""
    F = np.unique(np.asarray(F, dtype=float), axis=0)
    keep = []
    for i, f in enumerate(F):
        dominated = np.any(np.all(F <= f, axis=1) & np.any(F < f, axis=1))
        if not dominated:
            keep.append(i)
    return F[keep]


BENCHMARK_OPTIONS = {"normalize": False, "nr": 20, "n_neighbors": 20, "delta": 0.9}


def run_ours(problem, evals, seed, reference_points=None, decomposition=None, population_size=None,
             **options):
    """Final non-dominated objective vectors of our steady-state MOEA/D after `evals` evaluations."""
    n_obj = problem.n_obj
    options = {**BENCHMARK_OPTIONS, **options}
    directions = lattice(n_obj) if reference_points is None and population_size is None else None
    optimizer = MOEAD(MixedSpace.continuous(problem.n_var), n_obj, directions=directions,
                      population_size=population_size, reference_points=reference_points,
                      decomposition=decomposition or default_decomposition(n_obj), seed=seed, **options)
    low, high = problem.xl, problem.xu
    for _ in range(evals):
        ticket, x = optimizer.ask()
        optimizer.tell(ticket, problem.evaluate((low + x * (high - low))[None])[0])
    return non_dominated(optimizer.population()[1])


def run_pymoo(problem, evals, seed):
    """Final non-dominated objective vectors of pymoo's MOEA/D after `evals` evaluations."""
    from pymoo.algorithms.moo.moead import MOEAD as PymooMOEAD
    from pymoo.decomposition.pbi import PBI
    from pymoo.decomposition.tchebicheff import Tchebicheff
    from pymoo.optimize import minimize

    decomposition = PBI(theta=5.0) if default_decomposition(problem.n_obj) == "pbi" else Tchebicheff()
    algorithm = PymooMOEAD(ref_dirs=lattice(problem.n_obj), n_neighbors=20,
                           prob_neighbor_mating=0.9, decomposition=decomposition)
    result = minimize(problem, algorithm, ("n_eval", evals), seed=seed, verbose=False)
    return non_dominated(result.pop.get("F"))


def indicators(problem, F):
    """(IGD, hypervolume) of a front against the problem's true Pareto front."""
    from pymoo.indicators.hv import HV
    from pymoo.indicators.igd import IGD

    front = problem.pareto_front(lattice(problem.n_obj)) if problem.n_obj > 2 else problem.pareto_front()
    reference = front.max(axis=0) + 0.1 * (front.max(axis=0) - front.min(axis=0))
    return float(IGD(front)(F)), float(HV(ref_point=reference)(F))


def write_front(F, path):
    """DIR/front.csv: one row per solution, columns f1..fm (written whole, then moved in place)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([f"f{j + 1}" for j in range(F.shape[1])])
        writer.writerows([[repr(float(v)) for v in row] for row in F])


def compare(problem_name, n_obj=3, evals=9100, seeds=(0, 1, 2, 3, 4), log=print):
    """Both algorithms on one problem for each seed; returns a dict of medians and per-seed rows."""
    problem = get_problem(problem_name, n_obj)
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        ours = run_ours(problem, evals, seed)
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        theirs = run_pymoo(problem, evals, seed)
        theirs_seconds = time.perf_counter() - start
        row = {"seed": seed, "front": ours, "ours_seconds": ours_seconds, "pymoo_seconds": theirs_seconds}
        row["ours_igd"], row["ours_hv"] = indicators(problem, ours)
        row["pymoo_igd"], row["pymoo_hv"] = indicators(problem, theirs)
        rows.append(row)
        log(f"  {problem_name} seed {seed}: IGD ours {row['ours_igd']:.5f} pymoo {row['pymoo_igd']:.5f}   "
            f"HV ours {row['ours_hv']:.5f} pymoo {row['pymoo_hv']:.5f}   "
            f"({ours_seconds:.1f} s / {theirs_seconds:.1f} s)")
    summary = {key: statistics.median(r[key] for r in rows)
               for key in ("ours_igd", "pymoo_igd", "ours_hv", "pymoo_hv")}
    summary["igd_ratio"] = summary["ours_igd"] / summary["pymoo_igd"]
    summary.update(problem=problem_name, n_obj=problem.n_obj, evals=evals, seeds=list(seeds), rows=rows)
    return summary


def concentration(problem_name="dtlz2", n_obj=3, evals=9100, seed=0, targets=None, population_size=91):
    """Median PBI d2 of the final solutions to the nearest target direction, targets vs uniform.

    Directions are measured from the problem's ideal point (the origin for DTLZ2) in objective
    units. Returns {"uniform": d2, "targets": d2, "targets_used": targets}.
    """
    problem = get_problem(problem_name, n_obj)
    if targets is None:
        targets = np.array([[0.2, 0.3, 0.9], [0.8, 0.5, 0.3]])[:, :n_obj]
    targets = np.atleast_2d(np.asarray(targets, dtype=float))
    ideal = np.zeros(problem.n_obj)
    out = {"targets_used": targets.tolist()}
    for mode, reference_points in (("uniform", None), ("targets", targets)):
        front = run_ours(problem, evals, seed, reference_points=reference_points,
                         population_size=population_size, decomposition="pbi")
        d2 = np.min([pbi_distances(front, target - ideal, ideal)[1] for target in targets], axis=0)
        out[mode] = float(np.median(d2))
        out[mode + "_front"] = front
    return out


def oracle_overhead(n_trials=60, rounds=6):
    """Seconds per trial of Keras-Tuner searches on a trivial objective: MOEADOracle vs RandomSearch.

    Both run the same Tuner, space, objectives (three) and trial count in a fresh folder;
    each oracle runs `rounds` times, the order alternating between rounds (the machine is
    shared and noisy), and keeps its median. Most of a trial's time is Keras-Tuner writing
    trial and oracle files. Returns per-trial seconds of each and their ratio (ours / random).
    """
    import keras_tuner

    from keras_muxnet.search.oracle import MOEADOracle, with_multi_objective

    objectives = [keras_tuner.Objective("f1", "min"), keras_tuner.Objective("f2", "min"),
                  keras_tuner.Objective("f3", "max")]

    def declare(hp):
        hp.Float("a", 0.0, 1.0)
        hp.Int("b", 1, 8)
        hp.Choice("c", [3, 5, 7])
        hp.Float("d", 1e-4, 1e-1, sampling="log")

    class Trivial(keras_tuner.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            metrics = {"f1": hp["a"] + hp["b"], "f2": (1 - hp["a"]) * hp["c"], "f3": hp["d"]}
            return with_multi_objective(metrics, objectives)

    decision = {"moead": [0.0], "random": [0.0]}

    def timed(base, name):
        """The oracle class with its own decisions timed: populate_space, score_trial, get_state."""
        def wrap(method):
            def run(self, *args, **kwargs):
                start = time.perf_counter()
                try:
                    return method(self, *args, **kwargs)
                finally:
                    decision[name][-1] += time.perf_counter() - start
            return run

        return type(f"Timed{base.__name__}", (base,), {
            m: wrap(getattr(base, m)) for m in ("populate_space", "score_trial", "get_state")})

    moead_class, random_class = timed(MOEADOracle, "moead"), timed(keras_tuner.oracles.RandomSearchOracle, "random")
    oracles = {
        "moead": lambda: moead_class(objectives, max_trials=n_trials, population_size=20,
                                     neighbourhood_size=5, seed=1),
        "random": lambda: random_class(objective=objectives, max_trials=n_trials, seed=1),
    }
    times = {name: [] for name in oracles}
    for round_index in range(rounds):
        order = list(oracles) if round_index % 2 == 0 else list(oracles)[::-1]
        for name in order:
            with tempfile.TemporaryDirectory() as folder:
                tuner = Trivial(oracle=oracles[name](), hypermodel=declare, directory=folder,
                                project_name=name)
                decision[name].append(0.0)
                start = time.perf_counter()
                tuner.search(verbose=0)
                times[name].append((time.perf_counter() - start) / n_trials)
                decision[name][-1] /= n_trials
    ours, theirs = statistics.median(times["moead"]), statistics.median(times["random"])
    ours_decision = statistics.median(decision["moead"][1:])
    theirs_decision = statistics.median(decision["random"][1:])
    return {"moead_seconds_per_trial": ours, "random_seconds_per_trial": theirs,
            "ratio": ours / theirs, "n_trials": n_trials, "rounds": rounds,
            "moead_decision_seconds_per_trial": ours_decision,
            "random_decision_seconds_per_trial": theirs_decision,
            "decision_ratio": ours_decision / theirs_decision}
