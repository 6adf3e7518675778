"""Where a model's weights come from: `weights=None`, a file path, or "imagenet".

All resolution happens here, so the builders only call `check_request` before building and
`load_into` after.
"""

import os
import re

import h5py
import numpy as np

WEIGHT_FILE_SUFFIXES = (".weights.h5", ".h5")


def check_request(spec, weights, include_top, classes):
    """Reject a bad `weights` argument before anything is built."""
    if weights is None:
        return
    if weights == "imagenet":
        if include_top and classes != 1000:
            raise ValueError(
                f"weights='imagenet' with include_top=True needs classes=1000 (got {classes}); "
                f"use include_top=False and add your own head to fine-tune on {classes} classes")
        raise ValueError(imagenet_unavailable_message(spec))
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be None, 'imagenet' or a path to a weights file, got {weights!r}")
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(f"weights must be None, 'imagenet' or a path to a weights file; "
                         f"no file at {path!r}")
    if not path.endswith(WEIGHT_FILE_SUFFIXES):
        raise ValueError(f"unsupported weights file {path!r}: expected a Keras .weights.h5 file")


def imagenet_unavailable_message(spec):
    if not spec.published:
        return (f"{spec.name} has no ImageNet weights anywhere: the authors released only "
                f"MUXNet-m and MUXNet-l. Train it yourself or use weights=None.")
    return (f"ImageNet weights for {spec.name} are not available in this version; "
            f"use weights=None or a path to a .weights.h5 file.")


def load_into(model, spec, weights, include_top):
    """Load the requested weights (already checked by check_request) into a built model."""
    if weights is None:
        return
    load_weights_by_name(model, os.fspath(weights))


def _saved_key(class_name, used):
    """The key Keras (3 and tf_keras alike) gives a layer in a .weights.h5 file.

    Layers are stored under their class name in snake case with a running counter
    (`conv2d`, `conv2d_1`, ...) in the order of `model.layers`, not under `layer.name`.
    """
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _read_h5_layers(path, model):
    """{layer name: [arrays in the layer's weight order]} from a Keras weights file.

    Reads the `.weights.h5` layout both Keras modes write (`layers/<class key>/vars/<i>`) and
    the legacy tf_keras `.h5` layout (`<layer name>/...` with `weight_names`), so that files
    are portable between Keras 3 and tf_keras and every mismatch can name our layer.
    """
    out = {}
    with h5py.File(path, "r") as f:
        if "layers" in f:
            used = {}
            for layer in model.layers:
                key = _saved_key(type(layer).__name__, used)
                group = f["layers"].get(key)
                if group is not None and "vars" in group and len(group["vars"]):
                    out[layer.name] = [np.asarray(group["vars"][str(i)])
                                       for i in range(len(group["vars"]))]
        else:
            root = f["model_weights"] if "model_weights" in f else f
            for name in root.attrs.get("layer_names", []):
                name = name.decode() if isinstance(name, bytes) else name
                group = root[name]
                names = [n.decode() if isinstance(n, bytes) else n
                         for n in group.attrs.get("weight_names", [])]
                if names:
                    out[name] = [np.asarray(group[n]) for n in names]
    return out


def load_weights_by_name(model, path, skip_missing=False):
    """Assign weights from a .weights.h5 file to the model's layers of the same names.

    Every layer with weights must be found with the same number and shapes of arrays; the
    error names the first layer that does not fit and nothing is assigned until all fit.
    With `skip_missing`, layers absent from the file (e.g. a new head) keep their values.
    """
    try:
        stored = _read_h5_layers(path, model)
    except (OSError, KeyError) as error:
        raise ValueError(f"cannot read weights file {path!r}: {error}") from None
    assignments = []
    for layer in model.layers:
        current = layer.get_weights()
        if not current:
            continue
        if layer.name not in stored:
            if skip_missing:
                continue
            raise ValueError(f"weights file {path!r} has no weights for layer '{layer.name}' "
                             f"(is it for another MUXNet variant?)")
        arrays = stored[layer.name]
        shapes = [a.shape for a in arrays]
        expected = [w.shape for w in current]
        if shapes != expected:
            raise ValueError(f"weights file {path!r} does not fit layer '{layer.name}': the file "
                             f"holds shapes {shapes}, the model needs {expected} "
                             f"(is it for another MUXNet variant?)")
        assignments.append((layer, arrays))
    for layer, arrays in assignments:
        layer.set_weights(arrays)
