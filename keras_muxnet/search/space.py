"""The MUXNet search space as a Keras-Tuner HyperModel.

Stage-wise, as in the paper (§4): after a fixed stem and first block, each stage is a reduction
block (an inverted residual with stride 2) followed by normal blocks (channel-multiplexed), and
all blocks of a stage share its settings: kernel size, expansion ratio, number of normal blocks,
leave-out ratio of channel multiplexing and spatial-multiplexing scales. SE is always on and
the activation is swish except in the first stage (ReLU). A candidate is a `MUXNetSpec` written
in the same compact block strings as the named variants, so `spec.describe()` prints it as a
variant definition and `MUXNet(spec)` rebuilds it. Parameters and multiply-adds come exactly from
`keras_muxnet.profiler`, with no training; with a `LatencyTable`, `latency_ms` is the table's
predicted TFLite latency (float32 or int8, as the table was made).
"""

import keras_tuner

from keras_muxnet import profiler
from keras_muxnet._keras import keras
from keras_muxnet.architectures import MUXNetSpec, encode_block, BlockArgs
from keras_muxnet.search.oracle import with_multi_objective

KERNELS = (3, 5, 7)
EXPANSIONS = (3, 4, 6)
NORMAL_BLOCKS = (1, 2, 3)
LEAVE_OUT = (0.25, 0.5, 0.75)
# none: the plain grouped kxk; else MuxConv2D scales (-1 subpixel, 0 same size, 1 superpixel).
# A superpixel branch needs a multiple of 4 channels, so "-1.0.1" fails to build for some widths
# (such candidates are recorded as failed trials).
SCALES = ("none", "-1.0", "-1.0.1")
SE_RATIO = 0.75

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


def candidate_spec(values, widths=(24, 40, 80, 160), stem_filters=24, head_filters=1280,
                   strides=(2, 2, 1, 2), name="muxnet_candidate"):
    """The `MUXNetSpec` of one point of the space ({hyperparameter name: value}).

    `strides` of the four reduction blocks follow MUXNet-m (its fourth stage keeps the
    resolution); with a 32x32 input the last stage works at 2x2.
    """
    stages = [(encode_block(BlockArgs("ds", (3,), 1, 1.0, stem_filters, 0.25, "relu")),)]
    for stage, (width, stride) in enumerate(zip(widths, strides), start=1):
        kernel = int(values[f"stage{stage}_kernel"])
        expand = float(values[f"stage{stage}_expand"])
        activation = "relu" if stage == 1 else "swish"
        scales = values[f"stage{stage}_scales"]
        scales = None if scales == "none" else tuple(int(s) for s in scales.split("."))
        reduction = BlockArgs("ir", (kernel,), stride, expand, width, SE_RATIO, activation)
        normal = BlockArgs("mux", (kernel,), 1, expand, width, SE_RATIO, activation,
                           leave_out_ratio=float(values[f"stage{stage}_leave_out"]), scales=scales,
                           repeats=int(values[f"stage{stage}_blocks"]))
        stages.append((encode_block(reduction), encode_block(normal)))
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
      learning_rate: Adam's learning rate for the short training of each candidate.
      scales: the spatial-multiplexing options (see SCALES).
      latency_table: a `search.latency_table.LatencyTable`; each trial then also reports
        latency_ms, the candidate's predicted latency at input_shape (parts missing from the
        table are measured on the way unless it is offline).
      objectives: the objectives the search optimizes (names or keras_tuner.Objective), for
        Keras-Tuner's `multi_objective` sum; each must be one the hypermodel reports.
    """

    def __init__(self, input_shape=(32, 32, 3), classes=10, widths=(24, 40, 80, 160),
                 strides=(2, 2, 1, 2), stem_filters=24, head_filters=1280, learning_rate=2e-3,
                 scales=SCALES, name="muxnet_search", tunable=True, latency_table=None,
                 objectives=OBJECTIVES):
        super().__init__(name=name, tunable=tunable)
        self.latency_table = latency_table
        self.objectives = named_objectives(
            [o.name if isinstance(o, keras_tuner.Objective) else o for o in objectives],
            latency=latency_table is not None)
        if len(widths) != 4 or len(strides) != 4:
            raise ValueError(f"the space has four searched stages; got {len(widths)} widths "
                             f"and {len(strides)} strides")
        self.strides, self.scales = tuple(strides), tuple(scales)
        self.input_shape, self.classes = tuple(input_shape), int(classes)
        self.widths, self.stem_filters, self.head_filters = tuple(widths), stem_filters, head_filters
        self.learning_rate = learning_rate

    def declare(self, hp):
        """Declare the stage-wise choices and return their values."""
        for stage in range(1, 5):
            hp.Choice(f"stage{stage}_kernel", KERNELS)
            hp.Choice(f"stage{stage}_expand", EXPANSIONS)
            hp.Choice(f"stage{stage}_blocks", NORMAL_BLOCKS)
            hp.Choice(f"stage{stage}_leave_out", LEAVE_OUT)
            hp.Choice(f"stage{stage}_scales", self.scales)
        return hp.values

    def spec(self, hp):
        return candidate_spec(self.declare(hp), self.widths, self.stem_filters, self.head_filters,
                              self.strides)

    def build(self, hp):
        """The candidate network, compiled; a candidate that cannot be built fails its trial."""
        from keras_muxnet.models import MUXNet

        spec = self.spec(hp)
        try:
            model = MUXNet(spec, weights=None, input_shape=self.input_shape, classes=self.classes)
        except ValueError as error:
            raise keras_tuner.errors.FailedTrialError(
                f"candidate cannot be built: {error}\n{spec.describe()}") from error
        # No XLA: every candidate is a new graph, and compiling it would cost more than the
        # few epochs of training it gets.
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
        return model

    def latency_ms(self, hp):
        """The candidate's latency predicted by the table (None without one)."""
        if self.latency_table is None:
            return None
        return self.latency_table.predict(self.spec(hp), self.input_shape[0], classes=self.classes,
                                          channels=self.input_shape[-1])[0]

    def fit(self, hp, model, *args, **kwargs):
        """Short training; returns best val_accuracy with exact params and madds (and latency_ms)."""
        history = model.fit(*args, **kwargs)
        cost = profiler.profile(model)
        accuracy = max(history.history["val_accuracy"])
        metrics = {"val_accuracy": float(accuracy), "params": float(cost.params), "madds": float(cost.madds)}
        if self.latency_table is not None:
            metrics["latency_ms"] = float(self.latency_ms(hp))
        return with_multi_objective(metrics, self.objectives)
