"""The MobileNetV3 ladder: the peers a searched MUXNet front is drawn against.

keras.applications' MobileNetV3Small / MobileNetV3Large at several widths (`alpha`), built at
the search's input size with random weights and no dropout, trained and scored by the same
`search.evaluation.ShortEvaluation` as the candidates, and timed the same way as the front
(`time_exactly`: exported through the same converter, the same LiteRT interpreter and thread
count, whole networks in turn round after round). A peer is written `MobileNetV3Large` (alpha
1.0) or `MobileNetV3Small:0.75`.

`dominated(peer, front)` names the MUXNet that dominates a peer: validation accuracy >= and
latency <= the peer's (issue 12's goal is that every peer of the ladder is dominated).
"""

import dataclasses
import os

from keras_muxnet import profiler
from keras_muxnet._keras import keras

FAMILIES = ("MobileNetV3Small", "MobileNetV3Large")
LADDER = ("MobileNetV3Small:0.75", "MobileNetV3Small", "MobileNetV3Large:0.75", "MobileNetV3Large")
MIN_SIZE = 32  # keras.applications refuses smaller MobileNetV3 inputs


@dataclasses.dataclass(frozen=True)
class Peer:
    family: str
    alpha: float = 1.0

    @property
    def name(self):
        return self.family if self.alpha == 1.0 else f"{self.family}:{self.alpha:g}"

    def build(self, input_shape, classes):
        """The peer with random weights at `input_shape` (RGB in [0, 255], like MUXNet)."""
        if min(input_shape[:2]) < MIN_SIZE:
            raise ValueError(f"{self.name} needs an input of at least {MIN_SIZE}x{MIN_SIZE}, "
                             f"got {input_shape[0]}x{input_shape[1]}")
        return getattr(keras.applications, self.family)(
            input_shape=tuple(input_shape), alpha=self.alpha, weights=None, classes=int(classes),
            dropout_rate=0.0, include_preprocessing=True)


def parse_peer(text):
    """'MobileNetV3Large' or 'MobileNetV3Small:0.75' -> Peer; anything else is named."""
    family, _, alpha = str(text).strip().partition(":")
    known = {f.lower(): f for f in FAMILIES}
    if family.lower() not in known:
        raise ValueError(f"cannot build {text!r} as a peer: the ladder has {', '.join(FAMILIES)} "
                         f"(keras.applications), optionally with a width, e.g. MobileNetV3Small:0.75")
    try:
        alpha = float(alpha) if alpha else 1.0
    except ValueError:
        raise ValueError(f"the width of peer {text!r} is not a number (e.g. MobileNetV3Small:0.75)") from None
    if not 0 < alpha <= 2:
        raise ValueError(f"the width (alpha) of peer {text!r} must be in (0, 2]")
    return Peer(known[family.lower()], alpha)


def parse_ladder(texts):
    """A comma list (or list) of peers -> tuple of distinct Peers, in order."""
    if isinstance(texts, str):
        texts = texts.split(",")
    peers = tuple(dict.fromkeys(parse_peer(t) for t in texts if str(t).strip()))
    if not peers:
        raise ValueError("the ladder needs at least one peer")
    return peers


def evaluate(peers, data, evaluation, input_shape, classes, seed=0, log=print):
    """{peer name: {val_accuracy, params, madds, seconds}}: each peer trained and scored like a
    candidate, seeded like one."""
    from keras_muxnet.search.evaluation import seed_everything

    (x, y), validation = data
    rows = {}
    for index, peer in enumerate(peers, start=1):
        seed_everything(seed)
        model = peer.build(input_shape, classes)
        result = evaluation.score(model, x, y, validation, seed=seed)
        cost = profiler.profile(model)
        rows[peer.name] = {"model": peer.name, "family": peer.family, "alpha": peer.alpha,
                           "val_accuracy": result["val_accuracy"], "params": int(cost.params),
                           "madds": int(cost.madds), "seconds": result["seconds"]}
        log(index, len(peers), peer.name, rows[peer.name])
    return rows


def time_exactly(builders, quantize=None, threads=1, rounds=5, min_seconds=0.05):
    """{name: ms} of whole networks ({name: build function}) exported through the same converter
    and timed in turn, round after round, as the latency table times its parts."""
    from keras_muxnet.search.latency_table import built_runner, measure_interleaved_ms

    runners = {name: built_runner(build, quantize, threads)[0] for name, build in builders.items()}
    load = os.getloadavg()[0]
    times = measure_interleaved_ms(runners, rounds, min_seconds=min_seconds)
    return times, {"load_average_before": load, "load_average_after": os.getloadavg()[0],
                   "rounds": rounds, "quantize": quantize, "threads": threads}


def dominated(peer, candidates, latency="latency_ms"):
    """The candidates (dicts with val_accuracy and `latency`) that dominate `peer`: accuracy >=
    and latency <= the peer's, best accuracy first."""
    beating = [c for c in candidates if c.get(latency) is not None and c.get("val_accuracy") is not None
               and c["val_accuracy"] >= peer["val_accuracy"] and c[latency] <= peer["latency_ms"]]
    return sorted(beating, key=lambda c: (-c["val_accuracy"], c[latency]))
