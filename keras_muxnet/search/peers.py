"""What users would pick instead of our MOEA/D, each run on a pymoo test problem at a fixed budget.

A peer is a function `(problem, evals, seed) -> objective vectors of its final population`
(None when the library keeps no population apart from its history, as Optuna),
registered in `PEERS` under the name `keras-muxnet search benchmark --vs` takes. Every peer
evaluates through the same `CountedProblem`, so the comparison can check (not assume) that each
used exactly the budget. Peers keep their library's defaults; only the population size is the
number of our directions (91 for three objectives, 100 for two) and the NSGA-III reference
points are our Das-Dennis lattice, so that all methods hold the same number of solutions.
Optuna has no MOEA/D in its core: its NSGA-II and NSGA-III samplers are driven through
ask/tell with in-memory storage.
"""

import importlib
import warnings

import numpy as np

PEERS = {}  # name -> (runner, the package it needs, whether it stops only at a generation's end)
EXTRA = "search"  # the setup.cfg extra that installs every peer


def peer(name, package, whole_generations=False):
    def register(runner):
        PEERS[name] = (runner, package, whole_generations)
        return runner
    return register


def parse_peers(text_or_list):
    """'a,b' or ['a', 'b,c'] -> ('a', 'b', 'c'), each a known peer (order kept, duplicates dropped)."""
    items = [text_or_list] if isinstance(text_or_list, str) else list(text_or_list or ())
    names = []
    for item in items:
        for name in str(item).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in PEERS:
                raise ValueError(f"unknown peer {name!r}; expected one of {sorted(PEERS)}")
            if name not in names:
                names.append(name)
    return tuple(names)


def require(name):
    """Check a peer's package imports; a missing one is named with the extra that installs it."""
    package = PEERS[name][1]
    try:
        importlib.import_module(package)
    except ImportError as error:
        raise RuntimeError(f"peer {name!r} needs the package {package!r}, which is not installed "
                           f"({error}); install it with: pip install 'keras-muxnet[{EXTRA}]'") from None


def check_budget(name, evals, n_obj):
    """pymoo stops at a generation's end only: its budget must be whole generations to be met exactly."""
    step = population_size(n_obj) if PEERS[name][2] else 1
    if evals % step:
        raise ValueError(f"peer {name!r} evaluates whole generations of {step}: {evals} evaluations "
                         f"would be overrun; use a multiple of {step} (9100 suits 2 and 3 objectives)")


def run(name, problem, evals, seed):
    """Final objective vectors of peer `name` after `evals` evaluations of `problem`."""
    require(name)
    return PEERS[name][0](problem, evals, seed)


PARTITIONS = {2: 99, 3: 12}  # Das-Dennis lattice: 100 directions for 2 objectives, 91 for 3


def lattice(n_obj):
    """The Das-Dennis directions every method's population is sized by."""
    from pymoo.util.ref_dirs import get_reference_directions

    if n_obj not in PARTITIONS:
        raise ValueError(f"problems are benchmarked with 2 or 3 objectives, not {n_obj}")
    return get_reference_directions("das-dennis", n_obj, n_partitions=PARTITIONS[n_obj])


def population_size(n_obj):
    return len(lattice(n_obj))


def default_decomposition(n_obj):
    """pymoo's own default for MOEA/D: Tchebycheff for two objectives, PBI above."""
    return "tchebycheff" if n_obj == 2 else "pbi"


class CountedProblem:
    """A pymoo problem that counts, and keeps, every candidate evaluated through it.

    `evaluated()` is every objective vector seen (the archive a user of Optuna's `best_trials`
    or of our oracle's `get_best_trials` picks from); `as_pymoo()` gives a pymoo `Problem`
    evaluating through this one.
    """

    def __init__(self, problem):
        self.problem = problem
        self.n_var, self.n_obj = problem.n_var, problem.n_obj
        self.xl, self.xu = np.asarray(problem.xl, dtype=float), np.asarray(problem.xu, dtype=float)
        self.evaluations = 0
        self._seen = []

    def evaluate(self, X):
        """Objective rows of the rows of X (in the problem's own bounds)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        F = np.asarray(self.problem.evaluate(X, return_values_of=["F"]), dtype=float).reshape(len(X), -1)
        self.evaluations += len(X)
        self._seen.append(F)
        return F

    def evaluated(self):
        return np.concatenate(self._seen) if self._seen else np.empty((0, self.n_obj))

    def pareto_front(self, *args, **kwargs):
        return self.problem.pareto_front(*args, **kwargs)

    def as_pymoo(self):
        from pymoo.core.problem import Problem

        counted = self

        class Counted(Problem):
            def __init__(self):
                super().__init__(n_var=counted.n_var, n_obj=counted.n_obj, xl=counted.xl, xu=counted.xu)

            def _evaluate(self, X, out, *args, **kwargs):
                out["F"] = counted.evaluate(X)

        return Counted()


# --- pymoo ---------------------------------------------------------------------------------------
def _pymoo(problem, algorithm, evals, seed):
    from pymoo.optimize import minimize

    result = minimize(problem.as_pymoo(), algorithm, ("n_eval", evals), seed=seed, verbose=False)
    return np.asarray(result.pop.get("F"), dtype=float)


@peer("pymoo-moead", "pymoo", whole_generations=True)
def pymoo_moead(problem, evals, seed):
    """pymoo's MOEA/D: our lattice, T = 20, delta = 0.9, PBI (theta 5) or Tchebycheff for 2 objectives."""
    from pymoo.algorithms.moo.moead import MOEAD
    from pymoo.decomposition.pbi import PBI
    from pymoo.decomposition.tchebicheff import Tchebicheff

    decomposition = PBI(theta=5.0) if default_decomposition(problem.n_obj) == "pbi" else Tchebicheff()
    algorithm = MOEAD(ref_dirs=lattice(problem.n_obj), n_neighbors=20, prob_neighbor_mating=0.9,
                      decomposition=decomposition)
    return _pymoo(problem, algorithm, evals, seed)


@peer("pymoo-nsga3", "pymoo", whole_generations=True)
def pymoo_nsga3(problem, evals, seed):
    """pymoo's NSGA-III with its default operators on our lattice as reference directions."""
    from pymoo.algorithms.moo.nsga3 import NSGA3

    directions = lattice(problem.n_obj)
    return _pymoo(problem, NSGA3(ref_dirs=directions, pop_size=len(directions)), evals, seed)


# --- Optuna --------------------------------------------------------------------------------------
def _optuna(problem, sampler, evals):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["minimize"] * problem.n_obj, sampler=sampler,
                                storage=optuna.storages.InMemoryStorage())
    names = [f"x{i}" for i in range(problem.n_var)]
    distributions = {name: optuna.distributions.FloatDistribution(float(low), float(high))
                     for name, low, high in zip(names, problem.xl, problem.xu)}
    for _ in range(evals):
        trial = study.ask(distributions)
        x = np.array([trial.params[name] for name in names])
        study.tell(trial, problem.evaluate(x)[0].tolist())
    return None  # Optuna keeps no population apart from its trials: the archive is the result


@peer("optuna-nsga2", "optuna")
def optuna_nsga2(problem, evals, seed):
    """Optuna's NSGAIISampler with its default operators, population = our number of directions."""
    import optuna

    sampler = optuna.samplers.NSGAIISampler(population_size=population_size(problem.n_obj), seed=seed)
    return _optuna(problem, sampler, evals)


@peer("optuna-nsga3", "optuna")
def optuna_nsga3(problem, evals, seed):
    """Optuna's NSGAIIISampler with its default operators, our lattice as reference points."""
    import optuna

    directions = lattice(problem.n_obj)
    with warnings.catch_warnings():  # "NSGAIIISampler is experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.NSGAIIISampler(population_size=len(directions),
                                                 reference_points=directions, seed=seed)
    return _optuna(problem, sampler, evals)
