"""Our MOEA/D core against its peers (`search.peers`) on pymoo's test problems, at equal evaluations.

`compare()` runs ours and each peer (pymoo's MOEA/D by default) on DTLZ1/DTLZ2/ZDT1 for several
seeds and reports the median inverted generational distance (IGD, smaller is better) and
hypervolume (larger is better), measured by pymoo's own indicators against the problem's true
Pareto front, of two fronts per method: the final population's non-dominated solutions (where the
method keeps a population; Optuna does not) and the non-dominated set of everything it evaluated
(what Optuna's `best_trials` and our oracle's `get_best_trials` hand a user). Every method
evaluates through one counting wrapper, and the count is reported. Ours and pymoo's MOEA/D use the
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
from keras_muxnet.search import peers
from keras_muxnet.search.moead import MOEAD
from keras_muxnet.search.peers import PARTITIONS, default_decomposition, lattice
from keras_muxnet.search.variation import MixedSpace

PROBLEMS = ("dtlz1", "dtlz2", "zdt1")


def default_n_obj(name):
    """The benchmark's objective count of a problem: 2 for ZDT1, 3 for the DTLZ problems."""
    return 2 if name.lower() == "zdt1" else 3


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


def non_dominated(F, chunk=256):
    """Rows of F that no other row dominates (duplicates kept once)."""
    F = np.unique(np.asarray(F, dtype=float), axis=0)
    keep = np.ones(len(F), dtype=bool)
    for start in range(0, len(F), chunk):
        f = F[start:start + chunk, None]
        keep[start:start + chunk] = ~np.any(np.all(F <= f, axis=2) & np.any(F < f, axis=2), axis=1)
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
    return non_dominated(peers.run("pymoo-moead", peers.CountedProblem(problem), evals, seed))


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


def run_method(name, problem, evals, seed):
    """One method ("ours" or a peer) on one seed: its fronts, evaluation count and time."""
    counted = peers.CountedProblem(problem)
    start = time.perf_counter()
    if name == "ours":
        population = run_ours(counted, evals, seed)
    else:
        population = peers.run(name, counted, evals, seed)
    seconds = time.perf_counter() - start
    if counted.evaluations != evals:
        raise RuntimeError(f"{name} evaluated {counted.evaluations} candidates, not the budget of {evals}")
    archive = non_dominated(counted.evaluated())
    out = {"evaluations": counted.evaluations, "seconds": seconds, "archive": archive}
    out["archive_igd"], out["archive_hv"] = indicators(problem, archive)
    out["population"] = None if population is None else non_dominated(population)
    out["igd"], out["hv"] = (None, None) if population is None else indicators(problem, out["population"])
    return out


METRICS = ("igd", "hv", "archive_igd", "archive_hv", "seconds")


def compare(problem_name, n_obj=3, evals=9100, seeds=(0, 1, 2, 3, 4), log=print, vs=("pymoo-moead",)):
    """Ours and each peer in `vs` on one problem for each seed, at `evals` evaluations each.

    Returns {"methods": {name: medians of METRICS + "evaluations" per seed}, "rows": per seed,
    ...}; with pymoo-moead among the peers, also the keys ours_igd, pymoo_igd, ours_hv,
    pymoo_hv and igd_ratio (final populations).
    """
    problem = get_problem(problem_name, n_obj)
    vs = peers.parse_peers(vs)
    for name in vs:  # before any work
        peers.require(name)
        peers.check_budget(name, evals, problem.n_obj)
    methods = ("ours",) + vs
    rows = []
    for seed in seeds:
        row = {"seed": seed}
        for name in methods:
            row[name] = run_method(name, problem, evals, seed)
        row["front"] = row["ours"]["population"]
        if "pymoo-moead" in vs:
            row["ours_igd"], row["ours_hv"] = row["ours"]["igd"], row["ours"]["hv"]
            row["pymoo_igd"], row["pymoo_hv"] = row["pymoo-moead"]["igd"], row["pymoo-moead"]["hv"]
        rows.append(row)
        log(f"  {problem_name} seed {seed}: " + "   ".join(
            f"{name} IGD {_text(row[name]['igd'])} / all {row[name]['archive_igd']:.5f} "
            f"({row[name]['seconds']:.1f} s)" for name in methods))
    summary = {"methods": {}}
    for name in methods:
        medians = {}
        for key in METRICS:
            values = [r[name][key] for r in rows]
            medians[key] = None if any(v is None for v in values) else statistics.median(values)
        medians["evaluations"] = [r[name]["evaluations"] for r in rows]
        summary["methods"][name] = medians
    if "pymoo-moead" in vs:
        ours, pymoo = summary["methods"]["ours"], summary["methods"]["pymoo-moead"]
        summary.update(ours_igd=ours["igd"], pymoo_igd=pymoo["igd"], ours_hv=ours["hv"], pymoo_hv=pymoo["hv"],
                       igd_ratio=ours["igd"] / pymoo["igd"])
    summary.update(problem=problem_name, n_obj=problem.n_obj, evals=evals, seeds=list(seeds), rows=rows,
                   peers=list(vs))
    return summary


def _text(value):
    return "-" if value is None else f"{value:.5f}"


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
    trial and oracle files. Returns per-trial seconds of each and their ratio (ours / random),
    in wall time and in the process's CPU time (which a busy disk or other processes on a
    shared machine disturb far less).
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
    cpu_times = {name: [] for name in oracles}
    for round_index in range(rounds):
        order = list(oracles) if round_index % 2 == 0 else list(oracles)[::-1]
        for name in order:
            with tempfile.TemporaryDirectory() as folder:
                tuner = Trivial(oracle=oracles[name](), hypermodel=declare, directory=folder,
                                project_name=name)
                decision[name].append(0.0)
                start, cpu_start = time.perf_counter(), time.process_time()
                tuner.search(verbose=0)
                times[name].append((time.perf_counter() - start) / n_trials)
                cpu_times[name].append((time.process_time() - cpu_start) / n_trials)
                decision[name][-1] /= n_trials
    ours, theirs = statistics.median(times["moead"]), statistics.median(times["random"])
    ours_cpu, theirs_cpu = statistics.median(cpu_times["moead"]), statistics.median(cpu_times["random"])
    ours_decision = statistics.median(decision["moead"][1:])
    theirs_decision = statistics.median(decision["random"][1:])
    return {"moead_seconds_per_trial": ours, "random_seconds_per_trial": theirs,
            "ratio": ours / theirs, "n_trials": n_trials, "rounds": rounds,
            "moead_cpu_seconds_per_trial": ours_cpu, "random_cpu_seconds_per_trial": theirs_cpu,
            "cpu_ratio": ours_cpu / theirs_cpu,
            "moead_decision_seconds_per_trial": ours_decision,
            "random_decision_seconds_per_trial": theirs_decision,
            "decision_ratio": ours_decision / theirs_decision}
