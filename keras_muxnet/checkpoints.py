"""Read a PyTorch MUXNet checkpoint into {name: numpy array}, never running code from the file.

The authors trained with timm's scripts, so their files are timm training checkpoints: a dict
with `state_dict` and usually `state_dict_ema` (the moving average of the weights, which is what
their eval script evaluates), plus `epoch`, `arch`, optimizer state and the training `args`.
A cleaned checkpoint is just the state_dict. Both come as `.pth`/`.pt`/`.tar`/`.init`, in
PyTorch's zip format or the older legacy format, or as `.safetensors`.

Safety: pickled checkpoints are read with `torch.load(weights_only=True)`, PyTorch's restricted
unpickler, which refuses any global outside tensors and plain containers, so a crafted file
cannot run code. The only extra type allowed is `argparse.Namespace`, the training `args` that
timm stores: rebuilding it only sets attributes. `.safetensors` files hold no code at all.
"""

import argparse
import dataclasses
import os
import re

import numpy as np

PICKLE_SUFFIXES = (".pth", ".pt", ".tar", ".init", ".ckpt", ".bin")
SAFETENSORS_SUFFIXES = (".safetensors",)
CHECKPOINT_SUFFIXES = PICKLE_SUFFIXES + SAFETENSORS_SUFFIXES

EMA_ENTRIES = ("state_dict_ema", "model_ema")
PLAIN_ENTRIES = ("state_dict", "model")
PARALLEL_PREFIX = "module."

INSTALL_HINT = "pip install 'keras-muxnet[convert]'"


class CheckpointError(ValueError):
    """The file cannot be read as a MUXNet checkpoint; the message says why."""


@dataclasses.dataclass
class Checkpoint:
    """What was read: the state_dict as float arrays, and where in the file it came from."""

    path: str
    state_dict: dict
    entry: str  # "state_dict_ema", "state_dict", ... or "(raw state_dict)"
    arch: str = None  # the model name a training checkpoint records, if any
    epoch: int = None


def is_checkpoint_path(path):
    return os.fspath(path).lower().endswith(CHECKPOINT_SUFFIXES)


def read_checkpoint(path, use_state_dict=False):
    """Read `path` and pick its weights: `state_dict_ema` unless `use_state_dict` is set.

    Raises CheckpointError naming the problem for a missing, truncated, corrupt or unsafe
    file, a missing optional dependency, or a file that holds no state_dict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint file at {path!r}")
    if path.lower().endswith(SAFETENSORS_SUFFIXES):
        loaded = _load_safetensors(path)
    else:
        loaded = _load_pickled(path)
    tensors, entry = _select_state_dict(loaded, path, use_state_dict)
    arrays = _to_numpy(_strip_parallel_prefix(tensors, path), path)
    meta = loaded if isinstance(loaded, dict) else {}
    arch = meta.get("arch") if isinstance(meta.get("arch"), str) else None
    epoch = meta.get("epoch") if isinstance(meta.get("epoch"), int) else None
    return Checkpoint(path, arrays, entry, arch, epoch)


def _load_pickled(path):
    try:
        import torch
    except ImportError:
        raise CheckpointError(f"reading the PyTorch checkpoint {path!r} needs torch, which is not "
                              f"installed: {INSTALL_HINT} (or save it as .safetensors)") from None
    import pickle

    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        if unsafe:
            raise CheckpointError(
                f"refused to load {path!r}: unpickling it would call {unsafe.group(1)}, which is "
                f"not tensor data; the file was not loaded and nothing in it ran. Load only "
                f"checkpoints you trust, and prefer .safetensors") from None
        detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(error))
        raise CheckpointError(
            f"{path!r} cannot be read safely as a PyTorch checkpoint "
            f"({detail.group(1).strip() if detail else _first_line(error)}): it is corrupt, not a "
            f"checkpoint, or uses pickle features the safe loader refuses") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise CheckpointError(f"{path!r} is not a readable PyTorch checkpoint "
                              f"(truncated or corrupt?): {_first_line(error)}") from None


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _load_safetensors(path):
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError:
        raise CheckpointError(f"reading {path!r} needs the safetensors package, which is not "
                              f"installed: {INSTALL_HINT}") from None
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path!r} is not a readable .safetensors file "
                              f"(truncated or corrupt?): {error}") from None


def _is_tensor_dict(value):
    return (isinstance(value, dict) and len(value) > 0
            and all(isinstance(k, str) and _is_array(v) for k, v in value.items()))


def _is_array(value):
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("torch")


def _select_state_dict(loaded, path, use_state_dict):
    """(the chosen {name: tensor}, the entry it came from)."""
    if _is_tensor_dict(loaded):
        return loaded, "(raw state_dict)"
    if not isinstance(loaded, dict):
        raise CheckpointError(f"{path!r} holds a {type(loaded).__name__}, not a state_dict or a "
                              f"training checkpoint dict")
    order = PLAIN_ENTRIES if use_state_dict else EMA_ENTRIES + PLAIN_ENTRIES
    for entry in order:
        if _is_tensor_dict(loaded.get(entry)):
            return loaded[entry], entry
    wanted = " or ".join(f"'{e}'" for e in order)
    raise CheckpointError(f"{path!r} has no {wanted} with tensors; its top-level keys are "
                          f"{sorted(map(str, loaded))[:12]}")


def _strip_parallel_prefix(tensors, path):
    """Drop the `module.` that (Distributed)DataParallel puts before every name."""
    out = {}
    for key, value in tensors.items():
        name = key[len(PARALLEL_PREFIX):] if key.startswith(PARALLEL_PREFIX) else key
        if name in out:
            raise CheckpointError(f"{path!r} holds both '{name}' and '{PARALLEL_PREFIX}{name}'")
        out[name] = value
    return out


def _to_numpy(tensors, path):
    """Floating tensors as float32 numpy arrays (fp16/bf16 widened), others as they are."""
    out = {}
    for key, value in tensors.items():
        if isinstance(value, np.ndarray):
            array = value
        else:
            value = value.detach().cpu()
            if value.is_floating_point():
                value = value.float()
            array = value.numpy()
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype("float32", copy=False)
            if not np.all(np.isfinite(array)):
                raise CheckpointError(f"{path!r}: tensor '{key}' holds NaN or infinite values")
        out[key] = array
    return out
