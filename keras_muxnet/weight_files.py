"""Keras weight files keyed by layer name, readable and written the same in both Keras modes.

The files we write are name-keyed HDF5 in the layout of tf_keras' legacy `save_weights` (a group
per layer, its arrays listed in `weight_names`), the same bytes under both Keras modes, so a
file's sha256 identifies its weights. `model.save_weights("x.weights.h5")` of either mode keys
its groups by class and position (`batch_normalization_21`); we read those too, by recomputing
that key for each of our layers, so they load in both modes and a mismatch still names our layer.
"""

import os
import re

import h5py
import numpy as np

from keras_muxnet._files import atomic_output
from keras_muxnet._keras import variable_short_name

WEIGHT_FILE_SUFFIXES = (".weights.h5", ".h5")


def save_weights_by_name(model, path, extra_layers=None):
    """Write every layer's weights, keyed by layer name, atomically to `path`.

    The layout is tf_keras' HDF5 weights layout, without timestamps or version tags, so the
    same weights give the same bytes (and sha256) under Keras 3 and tf_keras. `extra_layers`
    ({layer name: [(variable name, array), ...]}) appends layers the model does not have.
    """
    entries = {layer.name: [(_variable_name(w), value)
                            for w, value in zip(layer.weights, layer.get_weights())]
               for layer in model.layers if layer.weights}
    entries.update(extra_layers or {})
    with atomic_output(os.fspath(path), suffix=".weights.h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["layer_names"] = np.array([name.encode() for name in entries])
            for layer_name, variables in entries.items():
                group = f.create_group(layer_name)
                names = [f"{layer_name}/{variable}:0" for variable, _ in variables]
                group.attrs["weight_names"] = np.array([n.encode() for n in names])
                for name, (_, value) in zip(names, variables):
                    group.create_dataset(name, data=np.asarray(value), track_times=False)


# tf_keras names a few variables differently from Keras 3; files use the Keras 3 names.
_KERAS3_NAMES = {"depthwise_kernel": "kernel"}


def _variable_name(variable):
    """The Keras 3 name of a variable in either Keras (`kernel`, `gamma`, `moving_mean`, ...)."""
    name = variable_short_name(variable)
    return _KERAS3_NAMES.get(name, name)


def _saved_key(class_name, used):
    """The key `save_weights` (Keras 3 and tf_keras alike) gives a layer in a .weights.h5 file.

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
    """{layer name: [arrays in the layer's weight order]} from a weights file of either layout.

    Name-keyed (ours, tf_keras legacy `.h5`): `<name>/<name>/<var>:0`, order in `weight_names`.
    Keras' `.weights.h5`: `layers/<class key>/vars/<i>`, matched to our layers by that key.
    """
    out = {}
    with h5py.File(path, "r") as f:
        if "layers" in f and "layer_names" not in f.attrs:
            used = {}
            for layer in model.layers:
                group = f["layers"].get(_saved_key(type(layer).__name__, used))
                if group is not None and "vars" in group and len(group["vars"]):
                    out[layer.name] = [np.asarray(group["vars"][str(i)])
                                       for i in range(len(group["vars"]))]
            return out
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
    Layers in the file that the model lacks (e.g. the classifier for include_top=False)
    are ignored.
    """
    path = os.fspath(path)
    try:
        stored = _read_h5_layers(path, model)
    except (OSError, KeyError) as error:
        raise ValueError(f"cannot read weights file {path!r}: {error}") from None
    weighted = [layer for layer in model.layers if layer.weights]
    assignments = []
    for layer in weighted:
        current = layer.get_weights()
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
