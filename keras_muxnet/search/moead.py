"""Steady-state MOEA/D (Zhang and Li, 2007) in plain numpy, with an ask/tell interface.

One sub-problem per direction; each keeps one solution. `ask()` hands out one candidate at a
time (so parallel workers can each hold one) and `tell()` takes its objectives back:

* first the initial population, one random candidate per sub-problem;
* then, sub-problems in shuffled rounds: parents come from the sub-problem's neighbourhood
  (the `n_neighbors` closest directions) with probability `delta`, else from the whole
  population; one child by the space's variation operators;
* on `tell` the ideal point is updated and the child replaces at most `nr` solutions of the
  mating pool whose scalarized value (PBI by default) it does not worsen.

Objectives are minimized. With `normalize=True` each objective is scaled by the spread of the
initial population (the paper normalizes model size and MAdds to [0, 1]) so that objectives of
very different units (error, parameters, multiply-adds) weigh alike. Reference targets, when
given, are in objective units; their directions from the ideal point are fixed once the first
child is asked (the scale is known then) and the population's directions cluster around them.
The whole state is plain JSON (`get_state`/`from_state`), pending candidates included.
"""

import base64

import numpy as np

from keras_muxnet.search import decomposition as decomposition_lib
from keras_muxnet.search import reference_directions
from keras_muxnet.search.variation import MixedSpace


class MOEAD:
    """Steady-state MOEA/D with ask/tell.

    Args:
      space: a `MixedSpace` (the variables and their operators).
      n_obj: number of objectives (all minimized).
      population_size: number of sub-problems (default: a Das-Dennis lattice size, 91 for 3
        objectives, 100 for 2).
      reference_points: optional (k, n_obj) targets in objective units; directions cluster
        around them. None spreads them uniformly.
      directions: explicit (n, n_obj) directions (overrides both of the above).
      n_neighbors, delta, nr: neighbourhood size, probability of mating within it, bound on
        replacements per child.
      theta: PBI penalty (>= 0). decomposition: "pbi" or "tchebycheff".
      normalize: scale objectives by the initial population's spread.
      spread: how far the directions around a reference target reach.
      seed: random seed.
    """

    def __init__(self, space, n_obj, population_size=None, reference_points=None, directions=None,
                 n_neighbors=20, delta=0.9, nr=2, theta=5.0, decomposition="pbi", normalize=True,
                 spread=0.15, seed=0):
        if not isinstance(space, MixedSpace):
            raise TypeError(f"space must be a MixedSpace, got {type(space).__name__}")
        if n_obj < 2:
            raise ValueError(f"MOEA/D needs at least 2 objectives, got {n_obj}")
        if theta is None or theta < 0:
            raise ValueError(f"PBI penalty theta must be >= 0, got {theta}")
        if not 0 <= delta <= 1:
            raise ValueError(f"delta is a probability, got {delta}")
        if nr < 1 or n_neighbors < 2:
            raise ValueError(f"need nr >= 1 and n_neighbors >= 2, got {nr}, {n_neighbors}")
        decomposition_lib.get_decomposition(decomposition)
        self.space, self.n_obj = space, int(n_obj)
        self.theta, self.decomposition, self.normalize = float(theta), decomposition, bool(normalize)
        self.delta, self.nr, self.spread = float(delta), int(nr), float(spread)
        self.rng = np.random.default_rng(seed)

        if reference_points is not None:
            reference_points = np.atleast_2d(np.asarray(reference_points, dtype=float))
            if reference_points.shape[1] != self.n_obj:
                raise ValueError(f"reference points have {reference_points.shape[1]} objectives, "
                                 f"expected {self.n_obj}")
        self.reference_points = reference_points
        if directions is not None:
            directions = np.atleast_2d(np.asarray(directions, dtype=float))
            population_size = len(directions)
        elif population_size is None:
            population_size = {2: 100, 3: 91}.get(self.n_obj, reference_directions.lattice_size(self.n_obj, 6))
        population_size = int(population_size)
        if reference_points is not None and population_size < len(reference_points):
            raise ValueError(f"population of {population_size} cannot hold one sub-problem per "
                             f"reference point ({len(reference_points)}); raise the population size")
        if population_size < 2:
            raise ValueError(f"population size must be at least 2, got {population_size}")
        self.population_size = population_size
        self.n_neighbors = min(int(n_neighbors), population_size)
        if directions is None and reference_points is None:
            directions = reference_directions.uniform(self.n_obj, population_size, self.rng)
        self.directions = directions  # fixed later in reference-point mode
        self.neighbors = None if directions is None else self._neighbors(directions)

        self.X = np.full((population_size, space.n_var), np.nan)
        self.F = np.full((population_size, self.n_obj), np.nan)
        self.ideal = np.full(self.n_obj, np.inf)
        self.lower = np.zeros(self.n_obj)
        self.scale = np.ones(self.n_obj)
        self.pending = {}  # ticket -> (sub-problem, mated within neighbourhood, x)
        self.next_ticket = 0
        self.n_asked_initial = 0
        self.round = []  # sub-problems still to visit in this round
        self.n_evaluations = 0
        self.evaluated_F = []  # objective vectors seen before the scale is fixed
        self.scaled = False

    # --- helpers ---------------------------------------------------------------------------
    def _neighbors(self, directions):
        distances = np.linalg.norm(directions[:, None] - directions[None], axis=2)
        return np.argsort(distances, axis=1, kind="stable")[:, :self.n_neighbors]

    def normalized(self, F):
        """Objective vectors in the scaled space the sub-problems compare in."""
        return (np.asarray(F, dtype=float) - self.lower) / self.scale

    def _fix_directions(self):
        """Reference-point mode: scale from the evaluations so far, directions to the targets."""
        seen = np.asarray(self.evaluated_F)
        self._fix_scale(seen)
        ideal = self.normalized(self.ideal)
        towards = self.normalized(self.reference_points) - ideal
        floor = 1e-3 * np.maximum(towards.max(axis=1, keepdims=True), 1e-12)
        towards = np.maximum(towards, floor)
        self.directions = reference_directions.concentrated(towards, self.population_size, self.spread)
        self.neighbors = self._neighbors(self.directions)

    def _fix_scale(self, seen):
        if self.normalize and len(seen):
            self.lower = seen.min(axis=0)
            spread = seen.max(axis=0) - self.lower
            self.scale = np.where(spread > 1e-12, spread, 1.0)

    def _scalarize(self, F, rows):
        function = decomposition_lib.get_decomposition(self.decomposition)
        ideal = self.normalized(self.ideal) - 1e-6  # strictly below the best values
        return function(self.normalized(F), self.directions[rows], ideal, self.theta)

    # --- ask / tell --------------------------------------------------------------------------
    def ask(self):
        """(ticket, encoded candidate) — the next candidate to evaluate."""
        ticket = self.next_ticket
        self.next_ticket += 1
        if self.n_asked_initial < self.population_size:
            subproblem = self.n_asked_initial
            self.n_asked_initial += 1
            x = self.space.random(self.rng)
            self.pending[ticket] = (subproblem, False, x.tolist())
            return ticket, x
        filled = np.flatnonzero(~np.isnan(self.F[:, 0]))
        if len(filled) < 2:  # too few evaluated to mate (initial ones failed or still running)
            x = self.space.random(self.rng)
            subproblem = int(self.rng.integers(self.population_size))
            self.pending[ticket] = (subproblem, False, x.tolist())
            return ticket, x
        if not self.scaled:  # the first child: the scale (and target directions) are set now
            if self.directions is None:
                self._fix_directions()
            else:
                self._fix_scale(np.asarray(self.evaluated_F))
            self.scaled = True
        if not self.round:
            self.round = self.rng.permutation(self.population_size).tolist()
        subproblem = int(self.round.pop())
        within = bool(self.rng.random() < self.delta)
        pool = self.neighbors[subproblem] if within else np.arange(self.population_size)
        # the pool's filled members, sorted (np.sort alone when all are filled: same, cheaper)
        pool = np.sort(pool) if len(filled) == self.population_size else np.intersect1d(pool, filled)
        if len(pool) < 2:
            pool, within = filled, False
        first, second = self.rng.choice(pool, 2, replace=False)
        x = self.space.offspring(self.X[first], self.X[second], self.rng)
        self.pending[ticket] = (subproblem, within, x.tolist())
        return ticket, x

    def tell(self, ticket, objectives):
        """Take back the (minimized) objectives of an asked candidate; returns replacements."""
        if ticket not in self.pending:
            raise KeyError(f"no pending candidate {ticket!r} (already told, or never asked)")
        f = np.asarray(objectives, dtype=float).reshape(-1)
        if f.shape != (self.n_obj,) or not np.all(np.isfinite(f)):
            raise ValueError(f"expected {self.n_obj} finite objective values, got {objectives!r}")
        subproblem, within, x = self.pending.pop(ticket)
        x = np.asarray(x)
        self.ideal = np.minimum(self.ideal, f)
        if not self.scaled:
            self.evaluated_F.append(f.tolist())
        self.n_evaluations += 1
        if np.isnan(self.F[subproblem, 0]):  # initial population, or a slot left by a failure
            self.X[subproblem], self.F[subproblem] = x, f
            return 1
        pool = self.neighbors[subproblem] if within else np.arange(self.population_size)
        empty = pool[np.isnan(self.F[pool, 0])]
        self.X[empty], self.F[empty] = x, f
        full = pool[~np.isnan(self.F[pool, 0])]
        if len(empty):
            full = full[np.isin(full, empty, invert=True)]
        replaced = len(empty)
        if len(full):  # the child's and the current values in one call (per-row, so the same numbers)
            both = self._scalarize(np.concatenate([np.repeat(f[None], len(full), axis=0), self.F[full]]),
                                   np.concatenate([full, full]))
            child, current = both[:len(full)], both[len(full):]
            for index in self.rng.permutation(len(full)):
                if replaced >= self.nr:
                    break
                if child[index] <= current[index]:
                    self.X[full[index]], self.F[full[index]] = x, f
                    replaced += 1
        return replaced

    def forget(self, ticket):
        """Drop a pending candidate whose evaluation failed (its slot stays as it was)."""
        self.pending.pop(ticket, None)

    # --- results -------------------------------------------------------------------------------
    def population(self):
        """(X, F) of the sub-problems that hold a solution."""
        filled = ~np.isnan(self.F[:, 0])
        return self.X[filled], self.F[filled]

    def pbi_of_population(self):
        """(d1, d2) of each sub-problem's solution to its own direction (normalized space)."""
        filled = np.flatnonzero(~np.isnan(self.F[:, 0]))
        ideal = self.normalized(self.ideal) - 1e-6
        return decomposition_lib.pbi_distances(self.normalized(self.F[filled]), self.directions[filled], ideal)

    # --- state ---------------------------------------------------------------------------------
    def get_state(self):
        """Everything needed to go on, as JSON-serializable Python values.

        Arrays are stored as base64 of their float64 bytes: exact, and far cheaper to write as
        JSON than lists of floats (Keras-Tuner writes the oracle's state three times per trial).
        """
        return {
            "population_size": self.population_size, "n_obj": self.n_obj,
            "directions": _pack(self.directions),
            "X": _pack(self.X), "F": _pack(self.F),
            "ideal": [None if not np.isfinite(v) else float(v) for v in self.ideal],
            "lower": self.lower.tolist(), "scale": self.scale.tolist(),
            "pending": {str(k): list(v) for k, v in self.pending.items()},
            "next_ticket": self.next_ticket, "n_asked_initial": self.n_asked_initial,
            "round": list(self.round), "n_evaluations": self.n_evaluations,
            "evaluated_F": _pack(np.asarray(self.evaluated_F, dtype=float).reshape(-1, self.n_obj)),
            "scaled": self.scaled,
            "rng": self.rng.bit_generator.state,
        }

    def set_state(self, state):
        """Restore what get_state returned (same constructor arguments assumed)."""
        if state["population_size"] != self.population_size or state["n_obj"] != self.n_obj:
            raise ValueError(
                f"saved search has population {state['population_size']} and {state['n_obj']} "
                f"objectives, this one {self.population_size} and {self.n_obj}")

        self.directions = _unpack(state["directions"])
        self.neighbors = None if self.directions is None else self._neighbors(self.directions)
        self.X, self.F = _unpack(state["X"]), _unpack(state["F"])
        self.ideal = np.array([np.inf if v is None else v for v in state["ideal"]], dtype=float)
        self.lower, self.scale = np.array(state["lower"]), np.array(state["scale"])
        self.pending = {int(k): (int(v[0]), bool(v[1]), list(v[2])) for k, v in state["pending"].items()}
        self.next_ticket, self.n_asked_initial = state["next_ticket"], state["n_asked_initial"]
        self.round, self.n_evaluations = list(state["round"]), state["n_evaluations"]
        evaluated = state["evaluated_F"]
        self.evaluated_F = [list(f) for f in (_unpack(evaluated).tolist() if isinstance(evaluated, dict) else evaluated)]
        self.scaled = bool(state["scaled"])
        self.rng.bit_generator.state = state["rng"]


def _pack(array):
    """A float array as JSON: {"float64": base64 of its little-endian bytes, "shape": [...]}."""
    if array is None:
        return None
    array = np.ascontiguousarray(array, dtype="<f8")
    return {"float64": base64.b64encode(array.tobytes()).decode("ascii"), "shape": list(array.shape)}


def _unpack(value):
    """What `_pack` wrote (or, from states saved before it, nested lists with None for NaN)."""
    if value is None:
        return None
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["float64"]), dtype="<f8")
        return flat.reshape(value["shape"]).astype(float)
    return np.array([[np.nan if v is None else v for v in row] for row in value], dtype=float)
