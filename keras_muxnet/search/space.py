"""The MUXNet search space as a Keras-Tuner HyperModel.

Stage-wise, as in the paper (§4): after a fixed stem and first block, each stage is a reduction
block (an inverted residual with stride 2) followed by normal blocks (channel-multiplexed), and
all blocks of a stage share its settings: kernel size, expansion ratio, number of normal blocks,
leave-out ratio of channel multiplexing and spatial-multiplexing scales. In the paper's space SE
is always on and the activation is swish except in the first stage (ReLU). The choices that
trade accuracy for latency (issue 12) can be opened per stage: the activation (ReLU, hard-swish,
swish: `activations=ACTIVATIONS`), SE on or off (`squeeze_excite=(True, False)`), a depthwise
kxk instead of the 2-channel groups of the mux blocks (scale "0"), kernels capped at 5x5
(`kernels=CAPPED_KERNELS`: XNNPACK's fast depthwise path) and stages without normal blocks
(`normal_blocks` with 0), and a width multiplier per stage (`width_multipliers`, e.g.
WIDTH_MULTIPLIERS: capacity, and latency, over a 6x range). A candidate is a `MUXNetSpec`
written in the same compact block strings as the named variants, so `spec.describe()` prints it
as a variant definition and `MUXNet(spec)` rebuilds it. Parameters and multiply-adds come exactly from
`keras_muxnet.profiler`, with no training; with a `LatencyTable`, `latency_ms` is the table's
predicted TFLite latency (float32 or int8, as the table was made). Accuracy comes from the
short, seeded evaluation of `search.evaluation`.
"""

import dataclasses

import keras_tuner

from keras_muxnet import profiler
from keras_muxnet.architectures import MUXNetSpec, encode_block, BlockArgs
from keras_muxnet.search.evaluation import ShortEvaluation, seed_everything
from keras_muxnet.search.oracle import with_multi_objective

KERNELS = (3, 5, 7)
CAPPED_KERNELS = (3, 5)  # at most 25 taps: XNNPACK's fast depthwise kernels
EXPANSIONS = (3, 4, 6)
NORMAL_BLOCKS = (1, 2, 3)
LEAVE_OUT = (0.25, 0.5, 0.75)
# none: the plain grouped kxk; else MuxConv2D scales (-1 subpixel, 0 same size, 1 superpixel);
# "0" alone is a depthwise kxk (no 2-channel groups). A superpixel branch needs a multiple of 4
# channels, so "-1.0.1" fails to build for some widths (such candidates are recorded as failed
# trials).
SCALES = ("none", "-1.0", "-1.0.1")
ACTIVATIONS = ("relu", "hard_swish", "swish")
SE_RATIO = 0.75
# Stage widths as multiples of the space's base widths (rounded to a multiple of 4 channels,
# at least 4): 4/8/8/12 ... 24/36/48/72 channels for the search's base 16/24/32/48.
WIDTH_MULTIPLIERS = (0.25, 0.5, 1.0, 1.5)
WIDTH_DIVISOR = 4

# What the hypermodel reports, and which way each is better.
DIRECTIONS = {"val_accuracy": "max", "params": "min", "madds": "min", "latency_ms": "min"}
OBJECTIVES = (keras_tuner.Objective("val_accuracy", "max"),
              keras_tuner.Objective("params", "min"),
              keras_tuner.Objective("madds", "min"))


def named_objectives(names, latency=True):
    """keras_tuner.Objectives for metric names (a list or 'a,b,c'); `latency`: a latency table
    is at hand, so latency_ms can be reported."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    available = [n for n in DIRECTIONS if latency or n != "latency_ms"]
    unknown = [n for n in names if n not in available]
    if unknown:
        hint = (" (latency_ms needs a latency table)" if "latency_ms" in unknown else "")
        raise ValueError(f"unknown objective(s) {unknown}{hint}: the hypermodel reports "
                         f"{', '.join(available)}")
    return [keras_tuner.Objective(n, DIRECTIONS[n]) for n in names]


def stage_width(base, multiplier):
    """A stage's output channels: `base` x `multiplier`, rounded to the nearest multiple of
    WIDTH_DIVISOR (at least that)."""
    return max(WIDTH_DIVISOR, int(base * float(multiplier) / WIDTH_DIVISOR + 0.5) * WIDTH_DIVISOR)


def candidate_spec(values, widths=(24, 40, 80, 160), stem_filters=24, head_filters=1280,
                   strides=(2, 2, 1, 2), name="muxnet_candidate"):
    """The `MUXNetSpec` of one point of the space ({hyperparameter name: value}).

    `strides` of the four reduction blocks follow MUXNet-m (its fourth stage keeps the
    resolution); with a 32x32 input the last stage works at 2x2. A stage without an
    `activation` or `se` value follows the paper's space (ReLU in stage 1, else swish; SE on);
    one without a `width` multiplier keeps its base width (so trials saved before the width
    choice existed rebuild the same networks). The width is written into the block strings, so
    `MUXNet(spec)` builds it and the latency table keys it.
    """
    stages = [(encode_block(BlockArgs("ds", (3,), 1, 1.0, stem_filters, 0.25, "relu")),)]
    for stage, (width, stride) in enumerate(zip(widths, strides), start=1):
        width = stage_width(width, values.get(f"stage{stage}_width", 1.0))
        kernel = int(values[f"stage{stage}_kernel"])
        expand = float(values[f"stage{stage}_expand"])
        activation = values.get(f"stage{stage}_activation", "relu" if stage == 1 else "swish")
        se_ratio = SE_RATIO if values.get(f"stage{stage}_se", True) else 0.0
        scales = values[f"stage{stage}_scales"]
        scales = None if scales == "none" else tuple(int(s) for s in scales.split("."))
        reduction = BlockArgs("ir", (kernel,), stride, expand, width, se_ratio, activation)
        blocks = (encode_block(reduction),)
        if int(values[f"stage{stage}_blocks"]) > 0:
            normal = BlockArgs("mux", (kernel,), 1, expand, width, se_ratio, activation,
                               leave_out_ratio=float(values[f"stage{stage}_leave_out"]), scales=scales,
                               repeats=int(values[f"stage{stage}_blocks"]))
            blocks += (encode_block(normal),)
        stages.append(blocks)
    return MUXNetSpec(name=name, stages=tuple(stages), stem_filters=stem_filters,
                      head_filters=head_filters, published=False,
                      note="Found by keras_muxnet.search; not one of the paper's networks.")


class MUXNetHyperModel(keras_tuner.HyperModel):
    """Builds a MUXNet candidate per trial and reports val_accuracy, params, madds (and latency_ms).

    Args:
      input_shape: (height, width, 3) of the training images (RGB in [0, 255], as every
        model of the package takes).
      classes: number of classes.
      widths: output channels of the four searched stages; strides: of their reduction blocks.
      stem_filters, head_filters: fixed widths of the stem and head.
      kernels, expansions, normal_blocks, leave_out, scales: each stage's choices (see the
        constants above; `normal_blocks` may include 0).
      activations: each stage's activation choices (e.g. ACTIVATIONS), or None for the paper's
        rule (ReLU in stage 1, swish after).
      squeeze_excite: each stage's SE choices: (True,) always on, (True, False) searched.
      width_multipliers: each stage's width choices as multiples of `widths` (e.g.
        WIDTH_MULTIPLIERS), or None for the fixed `widths`.
      evaluation: the `search.evaluation.ShortEvaluation` that trains and scores a candidate.
      seed: seeds each candidate's weights and data order (`evaluation.seed_everything`).
      latency_table: a `search.latency_table.LatencyTable`; each trial then also reports
        latency_ms, the candidate's predicted latency at input_shape (parts missing from the
        table are measured on the way unless it is offline).
      objectives: the objectives the search optimizes (names or keras_tuner.Objective), for
        Keras-Tuner's `multi_objective` sum; each must be one the hypermodel reports.
    """

    def __init__(self, input_shape=(32, 32, 3), classes=10, widths=(24, 40, 80, 160),
                 strides=(2, 2, 1, 2), stem_filters=24, head_filters=1280, kernels=KERNELS,
                 expansions=EXPANSIONS, normal_blocks=NORMAL_BLOCKS, leave_out=LEAVE_OUT,
                 scales=SCALES, activations=None, squeeze_excite=(True,), width_multipliers=None,
                 evaluation=None, seed=0,
                 name="muxnet_search", tunable=True, latency_table=None, objectives=OBJECTIVES):
        super().__init__(name=name, tunable=tunable)
        self.latency_table = latency_table
        self.objectives = named_objectives(
            [o.name if isinstance(o, keras_tuner.Objective) else o for o in objectives],
            latency=latency_table is not None)
        if len(widths) != 4 or len(strides) != 4:
            raise ValueError(f"the space has four searched stages; got {len(widths)} widths "
                             f"and {len(strides)} strides")
        self.choices = _checked_choices(kernel=kernels, expand=expansions, blocks=normal_blocks,
                                        leave_out=leave_out, scales=scales, activation=activations,
                                        se=squeeze_excite, width=width_multipliers)
        self.strides, self.scales = tuple(strides), tuple(scales)
        self.input_shape, self.classes = tuple(input_shape), int(classes)
        self.widths, self.stem_filters, self.head_filters = tuple(widths), stem_filters, head_filters
        self.evaluation = evaluation or ShortEvaluation()
        self.seed = int(seed)

    def declare(self, hp):
        """Declare the stage-wise choices and return their values."""
        for stage in range(1, 5):
            for key, values in self.choices.items():
                if values is not None and len(values) > 1:
                    hp.Choice(f"stage{stage}_{key}", values)
                elif values is not None:
                    hp.Fixed(f"stage{stage}_{key}", values[0])
        return hp.values

    def spec(self, hp):
        return candidate_spec(self.declare(hp), self.widths, self.stem_filters, self.head_filters,
                              self.strides)

    def build(self, hp):
        """The candidate network (seeded, no dropout); a candidate that cannot be built fails
        its trial. `fit` compiles it with the evaluation's optimizer."""
        from keras_muxnet.models import MUXNet

        spec = self.spec(hp)
        seed_everything(self.seed)
        try:
            return MUXNet(spec, weights=None, input_shape=self.input_shape, classes=self.classes,
                          dropout_rate=0.0, drop_connect_rate=0.0)
        except ValueError as error:
            raise keras_tuner.errors.FailedTrialError(
                f"candidate cannot be built: {error}\n{spec.describe()}") from error

    def latency_ms(self, hp):
        """The candidate's latency predicted by the table (None without one)."""
        if self.latency_table is None:
            return None
        return self.latency_table.predict(self.spec(hp), self.input_shape[0], classes=self.classes,
                                          channels=self.input_shape[-1])[0]

    def fit(self, hp, model, x, y, validation_data, epochs=None, batch_size=None, **ignored):
        """The short evaluation (`epochs`, `batch_size` override its own); returns val_accuracy
        with exact params and madds (and latency_ms)."""
        evaluation = self.evaluation
        if epochs is not None or batch_size is not None:
            evaluation = dataclasses.replace(evaluation, epochs=epochs or evaluation.epochs,
                                             batch_size=batch_size or evaluation.batch_size)
        result = evaluation.score(model, x, y, validation_data, seed=self.seed)
        cost = profiler.profile(model)
        metrics = {"val_accuracy": result["val_accuracy"], "params": float(cost.params),
                   "madds": float(cost.madds)}
        if self.latency_table is not None:
            metrics["latency_ms"] = float(self.latency_ms(hp))
        return with_multi_objective(metrics, self.objectives)


def _checked_choices(**choices):
    """{key: tuple of values or None}; an empty or unknown choice is named."""
    out = {}
    for key, values in choices.items():
        if values is None and key in ("activation", "width"):
            out[key] = None
            continue
        values = tuple(values)
        if not values:
            raise ValueError(f"the space needs at least one {key} choice")
        invalid = {"activation": lambda v: v not in ACTIVATIONS,
                   "kernel": lambda v: int(v) < 1 or int(v) % 2 == 0,
                   "blocks": lambda v: int(v) < 0,
                   "width": lambda v: not float(v) > 0}.get(key, lambda v: False)
        unknown = [v for v in values if invalid(v)]
        if unknown:
            raise ValueError(f"invalid {key} choice(s) {unknown}" + (
                f"; choose from {ACTIVATIONS}" if key == "activation" else ""))
        out[key] = values
    return out
