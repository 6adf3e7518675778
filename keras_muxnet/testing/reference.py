"""Compact references of the authors' MUXNet: their outputs stored, most weights regenerated.

The repository's test data (`tests/data/parity/muxnet_{m,l}_seeded0.npz`) was made by running the
authors' PyTorch code (human-analysis/MUXConv) on weights built by one rule: every tensor of two
or more dimensions of their state_dict (all convolution and dense kernels), in the order of
`generated_keys`, is drawn from ONE legacy NumPy stream `np.random.RandomState(seed)`:

    w = rs.standard_normal(shape).astype(float32) * float32(sqrt(2 / fan_in)),  fan_in = prod(shape[1:])

in PyTorch layouts (OIHW, (out, in)). Everything else (BatchNorm tensors, biases) is stored in
the file as `stored/<key>`. Legacy `RandomState` streams are frozen by NumPy, so the weights
are the same on every machine, and a 1.4 MB file stands in for a 20 MB checkpoint.
"""

import dataclasses
import math

import numpy as np

from keras_muxnet._files import atomic_output

STORED_PREFIX = "stored/"


@dataclasses.dataclass(frozen=True)
class ModelReference:
    """One reference: the authors' state_dict and what their code computed from it."""

    variant: str            # "muxnet_m" or "muxnet_l"
    state_dict: dict        # {authors' key: numpy array}, in the authors' order
    input_nchw: np.ndarray  # normalized input that entered the stem conv (2 x 3 x 224 x 224)
    logits: np.ndarray      # eval-mode logits, no softmax
    features: np.ndarray    # after the head conv, BN, swish and global average pooling
    params: int

    @property
    def input_nhwc(self):
        return self.input_nchw.transpose(0, 2, 3, 1)


def regenerate_kernels(seed, keys, shapes, ndims):
    """{key: float32 kernel} drawn in order from one legacy RandomState stream (module docstring)."""
    stream = np.random.RandomState(int(seed))
    kernels = {}
    for key, padded, ndim in zip(keys, shapes, ndims):
        shape = tuple(int(d) for d in padded[:int(ndim)])
        scale = np.float32(np.sqrt(2.0 / math.prod(shape[1:])))
        kernels[str(key)] = stream.standard_normal(shape).astype(np.float32) * scale
    return kernels


def load_model_reference(path):
    """Read a compact reference file and rebuild its full state_dict."""
    with np.load(path) as data:
        kernels = regenerate_kernels(data["seed"], data["generated_keys"],
                                     data["generated_shapes"], data["generated_ndim"])
        state_dict = {}
        for key in map(str, data["state_dict_keys"]):
            if key in kernels:
                state_dict[key] = kernels[key]
            elif STORED_PREFIX + key in data:
                state_dict[key] = np.asarray(data[STORED_PREFIX + key])
            else:
                raise ValueError(f"{path}: '{key}' is neither regenerated nor stored")
        name = str(path).rsplit("/", 1)[-1]
        return ModelReference(
            variant=name.split("_seeded")[0], state_dict=state_dict,
            input_nchw=np.asarray(data["input_nchw"]), logits=np.asarray(data["logits"]),
            features=np.asarray(data["features"]), params=int(data["params"]))


def write_training_checkpoint(reference, path, parallel_prefix=False, epoch=449, seed=0):
    """Save `reference` as the authors' training scripts (timm) did: `torch.save` of a dict whose
    `state_dict_ema` is the reference and whose `state_dict` is a perturbed half-precision copy
    (so a converter that picks the wrong entry fails parity), plus `epoch` and `arch`.

    `parallel_prefix` puts DataParallel's `module.` before every key. Needs torch.
    """
    import torch

    noise = np.random.RandomState(seed)
    prefix = "module." if parallel_prefix else ""
    ema, plain = {}, {}
    for key, value in reference.state_dict.items():
        ema[prefix + key] = torch.from_numpy(np.array(value))
        if np.issubdtype(value.dtype, np.floating):
            perturbed = value + 0.05 * np.abs(value).max() * noise.standard_normal(value.shape)
            plain[prefix + key] = torch.from_numpy(perturbed.astype(np.float16))
        else:
            plain[prefix + key] = torch.from_numpy(np.array(value))
    with atomic_output(path, suffix=".pth") as tmp:
        torch.save({"epoch": epoch, "arch": reference.variant, "state_dict": plain,
                    "state_dict_ema": ema}, tmp)
    return path
