"""The feature maps SSDLite attaches to, for our MUXNets and for keras.applications' MobileNetV2.

Both are cut the same way (MobileNetV2 §6.2): the first map is the expansion output of the first
stride-32 block (still at stride 16, the widest map there), the second the backbone's last layer
(its 1x1 head conv, stride 32). For MobileNetV2 these are `block_13_expand_relu` (576 channels)
and `out_relu` (1280); for MUXNet `features.expansion_layer_name` and `top_activation`.
Images come in as RGB in [0, 255]; each backbone scales them as it was trained to.
`feature_layout="stride8"` (for small objects, chosen for digit scenes) puts one more map in
front, at stride 8, cut the same way one level down: the expansion output of the first stride-16
block (MobileNetV2's `block_6_expand_relu`, 192 channels; MUXNet-xs's `block4a_expand_activation`,
96). At 192x192 the paper's finest map has stride 16 and 12x12 cells, too coarse for 24-32 pixel
digits (AP@0.5 0.003 for digits under 32 px); a stride-8 map gives 24x24 cells.
`"stride8_top_down"` also adds the stride-16 map into the stride-8 one (`heads.top_down`, as a
feature pyramid does), because the stride-8 expansion sits only four blocks deep. Measured on
digit scenes (192 px, 4000 scenes x 4 epochs): held-out mAP@0.5 0.488 (stride8, seed 0) and
0.508 / 0.457 (stride8_top_down, seeds 0 / 1), against 0.28-0.44 for the paper's layout: the
stride-8 map helps, the merge's share is within the seeds' spread.
`"stride8_fpn"` (the digit-scenes default) merges top-down from stride 32 too (`heads.pyramid`:
the last map, bounded by a ReLU6, into stride 16, and that into stride 8), because the middle
digits were found far more often than read right (AP@0.5 ignoring the class 0.38, with it 0.08):
the stride-16 and stride-8 heads now read the deepest features. With batches of 16 (twice the
steps): 0.586 (seed 0), digits under 32 / 32-56 / 56-96 px 0.01 / 0.17 / 0.78 (ignoring the
class 0.17 / 0.53 / 0.89).
MUXNet backbones are built without stochastic depth (drop-connect rate 0): SSDLite on
MobileNetV2 has none, and short detection trainings learn faster without it.
"""

import dataclasses

from keras_muxnet import architectures, features, models
from keras_muxnet._keras import keras

MOBILENET_V2 = "mobilenet_v2"
MOBILENET_V2_TAPS = ("block_13_expand_relu", "out_relu")
MOBILENET_V2_STRIDE8_TAP = "block_6_expand_relu"
FEATURE_LAYOUTS = ("paper", "stride8", "stride8_top_down", "stride8_fpn")


def spec_to_config(spec):
    """A MUXNetSpec as JSON-able data, for a model's config."""
    return dataclasses.asdict(spec)


def spec_from_config(config):
    config = dict(config)
    config["stages"] = tuple(tuple(stage) for stage in config["stages"])
    return architectures.MUXNetSpec(**config)


def names():
    return sorted(architectures.SPECS) + [MOBILENET_V2]


def canonical(name):
    """'muxnet_m', 'MUXNet-m', 'm', 'mobilenet_v2' -> the canonical name, else a clear error.

    A `MUXNetSpec` (a searched or test network) passes as it is.
    """
    if isinstance(name, architectures.MUXNetSpec):
        return name
    key = str(name).lower().replace("-", "_")
    if key in (MOBILENET_V2, "mobilenetv2"):
        return MOBILENET_V2
    try:
        return architectures.get_spec(key).name
    except ValueError:
        raise ValueError(f"unknown detection backbone {name!r}; known: {names()}") from None


def check_feature_layout(feature_layout):
    if feature_layout not in FEATURE_LAYOUTS:
        raise ValueError(f"unknown feature_layout {feature_layout!r}; known: {FEATURE_LAYOUTS}")
    return feature_layout


def build(name, input_size, weights=None, feature_layout="paper"):
    """(input tensor, [stride-16 expansion map, stride-32 last map]) of a fresh backbone, with
    the stride-8 expansion map in front for the "stride8" layouts.

    `name` is canonical (see `canonical`): a variant name, "mobilenet_v2" or a MUXNetSpec.
    """
    name = canonical(name)
    stride8 = check_feature_layout(feature_layout).startswith("stride8")
    shape = (input_size, input_size, 3)
    if name == MOBILENET_V2:
        inputs = keras.Input(shape=shape, name="input_layer")
        scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenet_v2_scaling")(inputs)
        base = keras.applications.MobileNetV2(include_top=False, weights=weights,
                                              input_tensor=scaled)
        names = ((MOBILENET_V2_STRIDE8_TAP,) if stride8 else ()) + MOBILENET_V2_TAPS
        return inputs, [base.get_layer(n).output for n in names]
    spec = name if isinstance(name, architectures.MUXNetSpec) else architectures.get_spec(name)
    base = models.MUXNet(spec, include_top=False, weights=weights, input_shape=shape,
                         drop_connect_rate=0.0)
    names = [features.expansion_layer_name(spec, level) for level in ((4, 5) if stride8 else (5,))]
    taps = [base.get_layer(n).output for n in names + ["top_activation"]]
    return base.inputs[0], taps
