"""MUXNet as a backbone: its feature pyramid and the expansion map SSDLite attaches to.

The pyramid follows keras-hub's convention: `"P<l>"` is the last layer at stride 2**l, so a
MUXNet at full depth gives P1 (stride 2) ... P5 (stride 32). Within a level the last layer is
the output of its last block; at the deepest level it is the head conv (`top_activation`),
since that is the last layer of the network. A spec that stops earlier (a tiny test network)
gives only the levels it reaches.

`"P5_expansion"` is the output of the 1x1 expansion (`<block>expand_activation`) of the first
block with stride 2 into stride 32: still at stride 16 and the widest map there. It is where
MobileNetV2's SSDLite attaches its first head (MobileNetV2 paper §6.2), and where ours does.

Everything is found by layer name from the spec, so the names are those of the classifier and
weights load into a pyramid model exactly as into `MUXNet(..., include_top=False)`.
"""

from keras_muxnet import architectures, models
from keras_muxnet._keras import keras

EXPANSION_KEY = "P5_expansion"


def _spec(spec):
    return architectures.get_spec(spec) if isinstance(spec, str) else spec


def _levels(spec):
    """[(block prefix, level)] in order: the level (log2 stride) each block's output is at."""
    level = 1  # the stem has stride 2
    out = []
    for prefix, args, _ in spec.blocks():
        level += args.strides == 2
        out.append((prefix, args, level))
    return out


def block_output_name(prefix, model):
    """The last layer of a block in the built model (its add, shuffle or project BN)."""
    names = [layer.name for layer in model.layers if layer.name.startswith(prefix)]
    if not names:
        raise ValueError(f"{model.name} has no layers of block {prefix!r}")
    return names[-1]


def pyramid_layer_names(spec, model):
    """{"P1": layer name, ...}: the last layer at each stride of a model built from `spec`."""
    spec = _spec(spec)
    last = {1: "stem_activation"}
    for prefix, _, level in _levels(spec):
        last[level] = prefix
    deepest = max(last)
    names = {}
    for level, prefix in sorted(last.items()):
        if level == deepest:
            names[f"P{level}"] = "top_activation"
        elif prefix == "stem_activation":
            names[f"P{level}"] = prefix
        else:
            names[f"P{level}"] = block_output_name(prefix, model)
    return names


def expansion_layer_name(spec, level=5):
    """The expansion output of the first block into stride 2**level (still at the stride before).

    Level 5 (stride 32) is SSDLite's first attachment point; level 4 is where its stride-8
    layout for small objects (`detection.backbones`) attaches.
    """
    spec = _spec(spec)
    for prefix, args, block_level in _levels(spec):
        if block_level == level and args.strides == 2:
            if args.expand_ratio == 1:
                raise ValueError(f"{spec.name}: block {prefix!r} has no expansion layer")
            return prefix + "expand_activation"
    raise ValueError(f"{spec.name} never reaches stride {2 ** level}, so it has no "
                     f"stride-{2 ** level} expansion layer")


def pyramid_outputs(model, spec=None, include_expansion=False):
    """{"P1": tensor, ...} of a MUXNet built from `spec` (classifier or not), by layer name.

    Without `spec`, the model's name picks the variant (the builders name models after it).
    """
    spec = _spec(model.name if spec is None else spec)
    outputs = {key: model.get_layer(name).output
               for key, name in pyramid_layer_names(spec, model).items()}
    if include_expansion:
        outputs[EXPANSION_KEY] = model.get_layer(expansion_layer_name(spec)).output
    return outputs


def MUXNetFeatures(spec, weights=None, input_shape=None, input_tensor=None,
                   include_preprocessing=True, include_expansion=False, name=None):
    """A model from images to the feature pyramid dict (see the module docstring).

    Built as `MUXNet(spec, include_top=False, ...)` and cut at the pyramid layers, so `weights`
    ("imagenet", a .weights.h5 path or a checkpoint) load by the same layer names.
    """
    spec = _spec(spec)
    base = models.MUXNet(spec, include_top=False, weights=weights, input_shape=input_shape,
                         input_tensor=input_tensor, include_preprocessing=include_preprocessing)
    outputs = pyramid_outputs(base, spec, include_expansion)
    return keras.Model(base.inputs, outputs, name=name or f"{spec.name}_features")
