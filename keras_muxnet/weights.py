"""Where a model's weights come from: `weights=None`, a file path, or "imagenet".

All resolution happens here, so the builders only call `check_request` before building and
`load_into` after:
- "imagenet": converted weights from the local cache, sha256-checked on every load (see
  `weights_cache`: download and convert where the authors' URL is known, else a clear error
  with the exact `keras-muxnet convert ... --install` command);
- a `.weights.h5` path: loaded by layer name, so it also fits a model without its top;
- a PyTorch checkpoint path (`.pth`, `.pt`, `.tar`, `.init`, `.safetensors`, ...): converted on
  the fly with the same mapping as `keras-muxnet convert`.

Weight files we write are name-keyed HDF5 in the layout of tf_keras' legacy `save_weights`
(a group per layer, its arrays listed in `weight_names`), the same bytes under both Keras
modes. `model.save_weights("x.weights.h5")` of either mode keys its groups by class and
position (`batch_normalization_21`); we read those too, by recomputing that key for each of our
layers, so they load in both modes and a mismatch still names our layer.
"""

import os
import re

import h5py
import numpy as np

from keras_muxnet import checkpoints
from keras_muxnet._files import atomic_output

WEIGHT_FILE_SUFFIXES = (".weights.h5", ".h5")
IMAGENET_CLASSES = 1000


def check_request(spec, weights, include_top, classes):
    """Reject a bad `weights` argument before anything is built.

    For "imagenet" this also makes sure the weights are in the cache (downloading and
    converting them where a URL is known), so a missing file fails before the slow build.
    """
    if weights is None:
        return
    if isinstance(weights, str) and weights == "imagenet":
        from keras_muxnet import weights_cache

        if not spec.published:
            raise ValueError(weights_cache.unpublished_message(spec))
        if include_top and classes != IMAGENET_CLASSES:
            raise ValueError(
                f"weights='imagenet' with include_top=True needs classes={IMAGENET_CLASSES} (got "
                f"{classes}); use include_top=False and add your own head to fine-tune on "
                f"{classes} classes")
        weights_cache.imagenet_weights(spec)
        return
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be None, 'imagenet' or a path to a weights file, got {weights!r}")
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(f"weights must be None, 'imagenet' or a path to a weights file; "
                         f"no file at {path!r}")
    if not (path.endswith(WEIGHT_FILE_SUFFIXES) or checkpoints.is_checkpoint_path(path)):
        raise ValueError(f"unsupported weights file {path!r}: expected a Keras .weights.h5 file or "
                         f"a PyTorch checkpoint ({', '.join(checkpoints.CHECKPOINT_SUFFIXES)})")


def load_into(model, spec, weights, include_top):
    """Load the requested weights (already checked by check_request) into a built model."""
    if weights is None:
        return
    if isinstance(weights, str) and weights == "imagenet":
        from keras_muxnet import weights_cache

        load_weights_by_name(model, weights_cache.imagenet_weights(spec))
        return
    path = os.fspath(weights)
    if checkpoints.is_checkpoint_path(path):
        from keras_muxnet import conversion

        checkpoint = checkpoints.read_checkpoint(path)
        conversion.check_arch(checkpoint, spec)
        conversion.assign(model, conversion.convert_state_dict(
            checkpoint.state_dict, model, spec, include_top))
        return
    load_weights_by_name(model, path)


def save_weights_by_name(model, path):
    """Write every layer's weights, keyed by layer name, atomically to `path`.

    The layout is tf_keras' HDF5 weights layout, without timestamps or version tags, so the
    same weights give the same bytes (and sha256) under Keras 3 and tf_keras.
    """
    with atomic_output(os.fspath(path), suffix=".weights.h5") as tmp:
        with h5py.File(tmp, "w") as f:
            layers = [layer for layer in model.layers if layer.weights]
            f.attrs["layer_names"] = np.array([layer.name.encode() for layer in layers])
            for layer in layers:
                group = f.create_group(layer.name)
                names = [f"{layer.name}/{_variable_name(w)}:0" for w in layer.weights]
                group.attrs["weight_names"] = np.array([n.encode() for n in names])
                for name, value in zip(names, layer.get_weights()):
                    group.create_dataset(name, data=np.asarray(value), track_times=False)


# tf_keras names a few variables differently from Keras 3; files use the Keras 3 names.
_KERAS3_NAMES = {"depthwise_kernel": "kernel"}


def _variable_name(variable):
    """`kernel`, `gamma`, `moving_mean`, ...: the Keras 3 name of a variable in either Keras."""
    full = getattr(variable, "path", None) or variable.name
    name = full.split("/")[-1].split(":")[0]
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
