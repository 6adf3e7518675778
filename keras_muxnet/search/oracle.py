"""`MOEADOracle`: multi-objective MOEA/D with PBI as a Keras-Tuner oracle.

Keras-Tuner's own oracles optimize one number (a list of objectives is summed into
`multi_objective`). This oracle keeps the objectives apart: each trial is one candidate of a
steady-state MOEA/D (`keras_muxnet.search.moead`), its objective vector (directions taken from
the `keras_tuner.Objective`s) is told back when the trial ends, and `get_best_trials()` returns
the non-dominated trials ordered by their PBI value within each sub-problem.

Usage (any Tuner / HyperModel; `run_trial` or `HyperModel.fit` returns a dict with every
objective, plus Keras-Tuner's required `multi_objective` key — `with_multi_objective()` adds it)::

    oracle = MOEADOracle(
        objectives=[keras_tuner.Objective("val_accuracy", "max"),
                    keras_tuner.Objective("params", "min"),
                    keras_tuner.Objective("madds", "min")],
        reference_points=[{"val_accuracy": 1.0, "params": 1.5e6, "madds": 60e6}],
        max_trials=100, population_size=40, neighbourhood_size=10, theta=5.0, seed=0)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=MUXNetHyperModel(...), directory=...)

The oracle's state (the MOEA/D population, pending candidates, random generator) is saved with
Keras-Tuner's own `oracle.json`, so `overwrite=False` resumes a killed search: a trial that was
running is run again, completed ones are never lost nor told twice. Distributed mode (chief +
workers through KERASTUNER_* variables) works as with the built-in oracles: workers only use
the standard RPCs.
"""

import time

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module

from keras_muxnet.search import decomposition
from keras_muxnet.search.moead import MOEAD
from keras_muxnet.search.variation import MixedSpace, Variable

TrialStatus = trial_module.TrialStatus
MULTI_OBJECTIVE = "multi_objective"


def with_multi_objective(metrics, objectives):
    """`metrics` plus Keras-Tuner's `multi_objective` key (its sum of the objectives, unused here)."""
    total = 0.0
    for objective in objectives:
        value = float(metrics[objective.name])
        total += value if objective.direction == "min" else -value
    return {**metrics, MULTI_OBJECTIVE: total}


def _check_objectives(objectives):
    if isinstance(objectives, (str, keras_tuner.Objective)) or not objectives:
        raise ValueError("objectives must be a list of at least two keras_tuner.Objective")
    objectives = list(objectives)
    for objective in objectives:
        if not isinstance(objective, keras_tuner.Objective) or objective.direction not in ("min", "max"):
            raise ValueError(f"each objective must be a keras_tuner.Objective with direction 'min' "
                             f"or 'max', got {objective!r}")
    names = [o.name for o in objectives]
    if len(objectives) < 2 or len(set(names)) != len(names):
        raise ValueError(f"need at least two objectives with distinct names, got {names}")
    return objectives


def _reference_matrix(reference_points, objectives):
    """Targets as rows in objective order and minimization form (maximized ones negated)."""
    names = [o.name for o in objectives]
    rows = []
    for index, point in enumerate(reference_points):
        if isinstance(point, dict):
            if sorted(point) != sorted(names):
                raise ValueError(f"reference point {index} names {sorted(point)}, expected the "
                                 f"objectives {names}")
            values = [point[name] for name in names]
        else:
            values = list(np.ravel(point))
            if len(values) != len(names):
                raise ValueError(f"reference point {index} has {len(values)} values, expected "
                                 f"{len(names)} (one per objective: {names})")
        rows.append([float(v) if o.direction == "min" else -float(v) for v, o in zip(values, objectives)])
    return np.asarray(rows, dtype=float)


def space_from_hyperparameters(hyperparameters):
    """(MixedSpace, fixed values) of a Keras-Tuner search space; unsupported entries are named."""
    hp_types = keras_tuner.engine.hyperparameters
    variables, fixed = [], {}
    for hp in hyperparameters.space:
        if hp.conditions:
            raise ValueError(f"MOEADOracle cannot vary the conditional hyperparameter {hp.name!r} "
                             f"(active only under {hp.conditions}); declare the space without conditions")
        if isinstance(hp, hp_types.Fixed):
            fixed[hp.name] = hp.value
        elif isinstance(hp, hp_types.Boolean):
            variables.append(Variable(hp.name, "choice", values=(False, True)))
        elif isinstance(hp, hp_types.Choice):
            variables.append(Variable(hp.name, "choice", values=tuple(hp.values)))
        elif isinstance(hp, (hp_types.Int, hp_types.Float)):
            if hp.sampling not in ("linear", "log") or (hp.sampling == "log" and isinstance(hp, hp_types.Int)):
                raise ValueError(f"MOEADOracle's operators cannot handle {type(hp).__name__} "
                                 f"{hp.name!r} with sampling={hp.sampling!r}; use linear sampling "
                                 f"(or log for a Float)")
            if isinstance(hp, hp_types.Int):
                variables.append(Variable(hp.name, "int", hp.min_value, hp.max_value, step=hp.step or 1))
            elif hp.step:
                steps = int(round((hp.max_value - hp.min_value) / hp.step))
                variables.append(Variable(hp.name, "choice",
                                          values=tuple(hp.min_value + i * hp.step for i in range(steps + 1))))
            else:
                variables.append(Variable(hp.name, "float", hp.min_value, hp.max_value,
                                          log=hp.sampling == "log"))
        else:
            raise ValueError(f"MOEADOracle's operators cannot handle hyperparameter {hp.name!r} of "
                             f"type {type(hp).__name__}")
    if not variables:
        raise ValueError("the search space has no hyperparameter to vary")
    return MixedSpace(variables), fixed


def non_dominated_mask(F):
    """Boolean mask of the rows of F (minimized) that no other row dominates."""
    F = np.asarray(F, dtype=float)
    mask = np.ones(len(F), dtype=bool)
    for i, f in enumerate(F):
        mask[i] = not np.any(np.all(F <= f, axis=1) & np.any(F < f, axis=1))
    return mask


class MOEADOracle(keras_tuner.Oracle):
    """Multi-objective MOEA/D (PBI decomposition) oracle for Keras-Tuner.

    Args:
      objectives: list of `keras_tuner.Objective` (at least two; each one's direction is used).
      max_trials: total trial budget.
      reference_points: optional list of targets, each a dict {objective name: value} or a
        sequence in objective order, in the objectives' own units (accuracy 1.0 means
        "accuracy 1"). Directions cluster around them; None spreads them uniformly.
      population_size: sub-problems (the paper: 40). neighbourhood_size: MOEA/D's T.
      theta: PBI penalty (the paper: 5). delta: probability of mating within the
        neighbourhood. nr: most solutions one child may replace.
      seed: random seed. idle_wait: seconds a worker waits before asking again when the
        budget is spent but other workers still run trials.
      Other keyword arguments go to `keras_tuner.Oracle`.
    """

    def __init__(self, objectives, max_trials=100, reference_points=None, population_size=40,
                 neighbourhood_size=10, theta=5.0, delta=0.9, nr=2, seed=None, idle_wait=0.2,
                 hyperparameters=None, allow_new_entries=True, tune_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=5):
        objectives = _check_objectives(objectives)
        if theta is None or theta < 0:
            raise ValueError(f"PBI penalty theta must be >= 0, got {theta}")
        if population_size is None or int(population_size) < 2:
            raise ValueError(f"population_size must be at least 2, got {population_size}")
        references = None
        if reference_points is not None:
            references = _reference_matrix(reference_points, objectives)
            if int(population_size) < len(references):
                raise ValueError(f"population_size {population_size} is smaller than the number of "
                                 f"reference points ({len(references)}): each needs a sub-problem")
        super().__init__(objective=objectives, max_trials=max_trials, hyperparameters=hyperparameters,
                         allow_new_entries=allow_new_entries, tune_new_entries=tune_new_entries,
                         seed=seed, max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials)
        self.objectives = objectives
        self.reference_points = references
        self.population_size = int(population_size)
        self.neighbourhood_size = int(neighbourhood_size)
        self.theta, self.delta, self.nr = float(theta), float(delta), int(nr)
        self.idle_wait = float(idle_wait)
        self._core = None
        self._core_state = None  # restored state, applied when the core is built
        self._saved_core = None  # the core's state as last saved, until the core changes
        self._tickets = {}  # trial_id -> MOEA/D ticket
        self._told = set()  # trial_ids whose objectives the MOEA/D has seen
        self._forgotten = set()  # trial_ids that failed for good
        self._subproblems = {}  # trial_id -> the sub-problem it was asked for

    # --- the MOEA/D core, built once the search space is known --------------------------------
    def _build_core(self):
        space, self._fixed_values = space_from_hyperparameters(self.hyperparameters)
        core = MOEAD(space, len(self.objectives), population_size=self.population_size,
                     reference_points=self.reference_points, n_neighbors=self.neighbourhood_size,
                     delta=self.delta, nr=self.nr, theta=self.theta, seed=self.seed)
        if self._core_state is not None:
            names = [v.name for v in space.variables]
            if self._core_state["variables"] != names:
                raise ValueError(f"the saved search varied {self._core_state['variables']}, this "
                                 f"search space has {names}; use a new project or overwrite=True")
            core.set_state(self._core_state["moead"])
            self._core_state = None
        return core

    @property
    def core(self):
        """The `MOEAD` instance (built on first use from the search space)."""
        if self._core is None:
            self._core = self._build_core()
        return self._core

    def objective_vector(self, trial):
        """A trial's objectives in minimization form (maximized ones negated)."""
        values = []
        for objective in self.objectives:
            if not trial.metrics.exists(objective.name):
                raise ValueError(f"objective {objective.name!r} was not reported by trial "
                                 f"{trial.trial_id} (it reported {sorted(trial.metrics.metrics)})")
            value = trial.metrics.get_best_value(objective.name)
            values.append(value if objective.direction == "min" else -value)
        return np.asarray(values, dtype=float)

    # --- Keras-Tuner hooks --------------------------------------------------------------------
    def populate_space(self, trial_id):
        core = self.core
        for _ in range(self._max_collisions):
            self._saved_core = None  # ask (and forget) change the core
            ticket, x = core.ask()
            values = {**self._fixed_values, **core.space.decode(x)}
            if not self._duplicate(values):
                self._tickets[trial_id] = ticket
                return {"status": TrialStatus.RUNNING, "values": values}
            core.forget(ticket)
        return {"status": TrialStatus.STOPPED, "values": None}

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        budget_spent = self.max_trials and len(self.trials) >= self.max_trials
        others_running = any(key != tuner_id for key in self.ongoing_trials)
        if (budget_spent and others_running and not self._retry_queue
                and tuner_id not in self.ongoing_trials):
            # Keep this worker until the others end, so the chief stops right after the last
            # trial; the short wait throttles the worker's polling loop.
            time.sleep(self.idle_wait)
            return trial_module.Trial(self.get_space(), status=TrialStatus.IDLE)
        return super().create_trial(tuner_id)

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        trial = self.trials[trial_id]
        missing = [o.name for o in self.objectives if o.name not in metrics]
        if missing:
            raise keras_tuner.errors.FatalValueError(
                f"trial {trial_id} did not report the objective(s) {missing}; it reported "
                f"{sorted(metrics)}. Return every objective from run_trial / HyperModel.fit "
                f"(see keras_muxnet.search.oracle.with_multi_objective)")
        for objective in self.objectives:
            if not trial.metrics.exists(objective.name):
                trial.metrics.register(objective.name, direction=objective.direction)
        return super().update_trial(trial_id, metrics, step=step)

    def score_trial(self, trial):
        """Tell the MOEA/D this trial's objectives (once) and score it by PBI of its sub-problem."""
        f = self.objective_vector(trial)
        if not np.all(np.isfinite(f)):
            trial.score = float("nan")
            return
        ticket = self._tickets.get(trial.trial_id)
        if ticket is not None and trial.trial_id not in self._told and ticket in self.core.pending:
            subproblem = self.core.pending[ticket][0]
            self._saved_core = None
            self.core.tell(ticket, f)
            self._told.add(trial.trial_id)
            self._subproblems[trial.trial_id] = subproblem
        trial.score = float(self._pbi(f[None], self._subproblems.get(trial.trial_id, 0))[0])
        trial.best_step = trial.metrics.get_best_step(self.objectives[0].name)

    def _pbi(self, F, subproblem):
        core = self.core
        directions = core.directions
        direction = directions[subproblem] if directions is not None else np.ones(core.n_obj)
        ideal = core.normalized(core.ideal) - 1e-6
        return decomposition.pbi(core.normalized(F), direction, ideal, self.theta)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        stored = self.trials[trial.trial_id]
        if stored.status == TrialStatus.FAILED and trial.trial_id in self._tickets \
                and trial.trial_id not in self._forgotten:
            self._saved_core = None
            self.core.forget(self._tickets[trial.trial_id])
            self._forgotten.add(trial.trial_id)
            self.save()

    # --- results ------------------------------------------------------------------------------
    def completed_trials(self):
        """Completed trials with every objective finite, in start order."""
        out = []
        for trial_id in self.start_order:
            trial = self.trials[trial_id]
            if trial.status == TrialStatus.COMPLETED:
                try:
                    if np.all(np.isfinite(self.objective_vector(trial))):
                        out.append(trial)
                except ValueError:
                    continue
        return out

    def pareto_trials(self):
        """The non-dominated completed trials (unordered)."""
        trials = self.completed_trials()
        if not trials:
            return []
        F = np.array([self.objective_vector(t) for t in trials])
        return [t for t, keep in zip(trials, non_dominated_mask(F)) if keep]

    def get_best_trials(self, num_trials=1):
        """Non-dominated trials, ordered by PBI within each sub-problem.

        Each non-dominated trial joins the sub-problem (direction) whose PBI value it makes
        smallest (objectives scaled by the completed trials' range); the list takes every
        sub-problem's best first (lowest PBI first), then every sub-problem's second best, and so on.
        """
        front = self.pareto_trials()
        if not front:
            return []
        F = np.array([self.objective_vector(t) for t in front])
        seen = np.array([self.objective_vector(t) for t in self.completed_trials()])
        lower = seen.min(axis=0)
        scale = np.where(seen.max(axis=0) - lower > 1e-12, seen.max(axis=0) - lower, 1.0)
        normalized = (F - lower) / scale
        directions = self._ranking_directions(lower, scale)
        values = np.stack([decomposition.pbi(normalized, w, np.zeros(len(w)) - 1e-6, self.theta)
                           for w in directions], axis=1)
        home = values.argmin(axis=1)
        best = values[np.arange(len(front)), home]
        rank = np.zeros(len(front), dtype=int)
        for subproblem in np.unique(home):
            members = np.flatnonzero(home == subproblem)
            rank[members[np.argsort(best[members], kind="stable")]] = np.arange(len(members))
        order = np.lexsort((best, rank))
        return [front[i] for i in order[:num_trials]]

    def _ranking_directions(self, lower, scale):
        if self.reference_points is not None:
            towards = (self.reference_points - lower) / scale
            return np.maximum(towards, 1e-3 * np.maximum(towards.max(axis=1, keepdims=True), 1e-12))
        if self._core is not None and self._core.directions is not None:
            return self._core.directions
        from keras_muxnet.search.reference_directions import uniform

        return uniform(len(self.objectives), self.population_size)

    # --- state --------------------------------------------------------------------------------
    def get_state(self):
        state = super().get_state()
        core_state = None
        if self._core is not None:
            # Keras-Tuner saves the oracle three times a trial; the core changes at most twice.
            if self._saved_core is None:
                self._saved_core = {"variables": [v.name for v in self._core.space.variables],
                                    "moead": self._core.get_state()}
            core_state = self._saved_core
        elif self._core_state is not None:
            core_state = self._core_state
        state["moead"] = {
            "core": core_state,
            "tickets": dict(self._tickets),
            "told": sorted(self._told),
            "forgotten": sorted(self._forgotten),
            "subproblems": dict(self._subproblems),
        }
        return state

    def set_state(self, state):
        super().set_state(state)
        saved = state["moead"]
        self._core, self._saved_core = None, None
        self._core_state = saved["core"]
        self._tickets = {k: int(v) for k, v in saved["tickets"].items()}
        self._told = set(saved["told"])
        self._forgotten = set(saved["forgotten"])
        self._subproblems = {k: int(v) for k, v in saved["subproblems"].items()}
