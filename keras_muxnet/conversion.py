"""Map the authors' PyTorch state_dict onto a Keras MUXNet, tensor by tensor.

The authors' module tree (timm's EfficientNet builder) names tensors `conv_stem`, `bn1`,
`blocks.<i>.0.<part>`, `conv_head`, `bn2`, `classifier`, where <i> is the block's global index.
Our layer names are keras.applications-style (`block2b_gconv`); `spec.blocks()` links the two.
Layout changes: conv OIHW -> HWIO (grouped: O x I/g x kH x kW -> kH x kW x I/g x O),
depthwise C x 1 x kH x kW -> kH x kW x C x 1, Linear (out, in) -> (in, out).

The mapping only transposes kernels, so it does not depend on the input size a model is built
for. Nothing here builds a model: `weights_request` uses it on the model being built, and
`checkpoint_conversion` for the file-to-file path behind `keras-muxnet convert`.
"""

import numpy as np

from keras_muxnet import architectures

CLASSIFIER = "predictions"

BN_PARTS = ("weight", "bias", "running_mean", "running_var")


def _conv(w):
    return np.transpose(w, (2, 3, 1, 0))


def _depthwise(w):
    return np.transpose(w, (2, 3, 0, 1))


class _Plan:
    """Collects (keras layer name -> list of (torch key, transform))."""

    def __init__(self):
        self.layers = {}

    def add(self, layer, *entries):
        self.layers[layer] = list(entries)

    def conv(self, layer, key, bias=False):
        entries = [(key + ".weight", _conv)]
        if bias:
            entries.append((key + ".bias", None))
        self.add(layer, *entries)

    def bn(self, layer, key):
        self.add(layer, *[(f"{key}.{part}", None) for part in BN_PARTS])


def _spatial_entries(args, key):
    """Torch keys of a block's kxk step, in the order of our layer's weights."""
    if args.scales is not None:
        return [(f"{key}.convs.{j}.weight" if s == 0 else f"{key}.convs.{j}.1.weight", _depthwise)
                for j, s in enumerate(args.scales)]
    if len(args.kernel_sizes) > 1:
        return [(f"{key}.{j}.weight", _depthwise) for j in range(len(args.kernel_sizes))]
    if args.block_type == "mux":
        return [(key + ".weight", _conv)]
    return [(key + ".weight", _depthwise)]


def conversion_plan(spec, include_top=True):
    """{keras layer name: [(torch key, transform or None), ...]} for a whole MUXNet."""
    plan = _Plan()
    plan.conv("stem_conv", "conv_stem")
    plan.bn("stem_bn", "bn1")
    for prefix, args, index in spec.blocks():
        key = f"blocks.{index}.0."
        step = {"gconv" if args.block_type == "mux" and args.scales is None else
                ("muxconv" if args.scales is not None else "dwconv")}.pop()
        plan.add(prefix + step, *_spatial_entries(args, key + "conv_dw"))
        if args.block_type == "ds":
            plan.bn(prefix + "bn", key + "bn1")
            plan.conv(prefix + "project_conv", key + "conv_pw")
            plan.bn(prefix + "project_bn", key + "bn2")
        else:
            if args.expand_ratio != 1:
                plan.conv(prefix + "expand_conv", key + "conv_pw")
                plan.bn(prefix + "expand_bn", key + "bn1")
            plan.bn(prefix + "bn", key + "bn2")
            plan.conv(prefix + "project_conv", key + "conv_pwl")
            plan.bn(prefix + "project_bn", key + "bn3")
        if args.se_ratio > 0:
            plan.conv(prefix + "se_reduce", key + "se.conv_reduce", bias=True)
            plan.conv(prefix + "se_expand", key + "se.conv_expand", bias=True)
    plan.conv("top_conv", "conv_head")
    plan.bn("top_bn", "bn2")
    if include_top:
        plan.add(CLASSIFIER, ("classifier.weight", np.transpose), ("classifier.bias", None))
    return plan.layers


class ConversionError(ValueError):
    """The state_dict does not fit the architecture; lists every problem at once."""

    def __init__(self, missing=(), unexpected=(), misshaped=()):
        self.missing, self.unexpected, self.misshaped = list(missing), list(unexpected), list(misshaped)
        parts = []
        if self.missing:
            parts.append(f"missing keys ({len(self.missing)}): {', '.join(self.missing[:20])}")
        if self.unexpected:
            parts.append(f"unexpected keys ({len(self.unexpected)}): {', '.join(self.unexpected[:20])}")
        if self.misshaped:
            parts.append(f"mis-shaped ({len(self.misshaped)}): " + "; ".join(
                f"{k} {got} -> layer '{layer}' needs {want}" for k, layer, got, want in self.misshaped[:20]))
        super().__init__("the checkpoint does not fit this MUXNet: " + " | ".join(parts))

    @classmethod
    def other_variant(cls, path, recorded, wanted):
        """The checkpoint's own `arch` names another variant than the one asked for."""
        error = cls()
        error.args = (f"{path!r} is a {recorded} checkpoint (its 'arch' says so), not {wanted}; "
                      f"convert it with --model {recorded}",)
        return error


def convert_state_dict(state_dict, model, spec, include_top=True):
    """Return {layer name: [arrays]} for `model` from a torch state_dict of numpy arrays.

    Every needed key must be present once with the right shape and every tensor of the
    state_dict must be used (BN `num_batches_tracked` aside); otherwise a ConversionError
    lists all missing, unexpected and mis-shaped keys. Nothing is assigned here.
    """
    plan = conversion_plan(spec, include_top)
    if not include_top:
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith("classifier.")}
    used, missing, misshaped, converted = set(), [], [], {}
    for layer_name, entries in plan.items():
        layer = model.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.weights]
        if len(expected) != len(entries):
            raise RuntimeError(f"conversion plan out of step with layer '{layer_name}': "
                               f"{len(entries)} tensors for {len(expected)} weights")
        arrays = []
        for (key, transform), want in zip(entries, expected):
            if key not in state_dict:
                missing.append(key)
                continue
            used.add(key)
            value = np.asarray(state_dict[key], dtype="float32")
            value = transform(value) if transform is not None else value
            if tuple(value.shape) != want:
                misshaped.append((key, tuple(np.shape(state_dict[key])), layer_name, want))
            arrays.append(value)
        converted[layer_name] = arrays
    unexpected = sorted(k for k in state_dict
                        if k not in used and not k.endswith("num_batches_tracked"))
    if missing or unexpected or misshaped:
        raise ConversionError(missing, unexpected, misshaped)
    return converted


def assign(model, converted):
    """Set the arrays of `convert_state_dict` on the model's layers of the same names."""
    for name, arrays in converted.items():
        model.get_layer(name).set_weights(arrays)


def check_arch(checkpoint, spec):
    """Refuse a training checkpoint whose recorded `arch` is another known MUXNet variant."""
    if checkpoint.arch is None:
        return
    try:
        recorded = architectures.get_spec(checkpoint.arch).name
    except ValueError:
        return  # a name we do not know: let the key-by-key check decide
    if recorded != spec.name:
        raise ConversionError.other_variant(checkpoint.path, recorded, spec.name)


def classifier_weights(state_dict, spec):
    """{"predictions": [(variable name, array), ...]}: the ImageNet classifier of a state_dict in
    our layout, for a weights file written from a model built without its top."""
    kernel = np.transpose(np.asarray(state_dict["classifier.weight"], "float32"))
    bias = np.asarray(state_dict["classifier.bias"], "float32")
    if kernel.shape != (spec.head_filters, bias.shape[0]):
        raise ConversionError(misshaped=[("classifier.weight", kernel.T.shape, CLASSIFIER,
                                          (spec.head_filters, bias.shape[0]))])
    return {CLASSIFIER: [("kernel", kernel), ("bias", bias)]}
