"""The file-to-file path behind `keras-muxnet convert`: an authors' checkpoint in, a Keras
`.weights.h5` out.

Reads the checkpoint safely (`checkpoints`), builds the network and maps every tensor onto it
(`conversion`: each one checked), and writes the weights all or nothing (`weight_files`). The same weights give the same bytes under
both Keras modes, so a converted file's sha256 identifies it (weights/manifest.json).
"""

import dataclasses
import os

from keras_muxnet import architectures, checkpoints, conversion, weight_files
from keras_muxnet._files import check_writable, sha256_of

OUTPUT_SUFFIX = ".weights.h5"


@dataclasses.dataclass
class ConvertedFile:
    """What `convert_checkpoint` wrote and from what."""

    path: str
    sha256: str
    source: str
    source_sha256: str
    entry: str  # which part of the checkpoint was used, e.g. "state_dict_ema"
    arch: str = None


def check_output_path(output):
    """Fail before any work when `output` cannot be written as a Keras weights file."""
    output = os.fspath(output)
    if not output.endswith(OUTPUT_SUFFIX):
        raise ValueError(f"the output file must end with {OUTPUT_SUFFIX}, got {output!r}")
    check_writable(output)


def convert_checkpoint(checkpoint_path, spec, output, use_state_dict=False):
    """Convert the authors' PyTorch checkpoint of `spec` into a Keras `.weights.h5` file.

    Uses `state_dict_ema` when the checkpoint has one (the weights the authors evaluate)
    unless `use_state_dict`. Any problem (unreadable or unsafe file, another variant,
    missing/unexpected/mis-shaped tensors, unwritable output) raises a ValueError that names
    it, and then nothing is written. Returns a `ConvertedFile`.
    """
    spec = architectures.get_spec(spec) if isinstance(spec, str) else spec
    check_output_path(output)
    checkpoint = checkpoints.read_checkpoint(checkpoint_path, use_state_dict=use_state_dict)
    conversion.check_arch(checkpoint, spec)  # before TensorFlow loads: a wrong --model fails fast
    from keras_muxnet.models import MUXNet  # imports TensorFlow, so only now

    model = MUXNet(spec, weights=None, include_preprocessing=False, classifier_activation=None)
    conversion.assign(model, conversion.convert_state_dict(checkpoint.state_dict, model, spec))
    weight_files.save_weights_by_name(model, output)
    return ConvertedFile(os.fspath(output), sha256_of(output), os.fspath(checkpoint_path),
                         sha256_of(checkpoint_path), checkpoint.entry, checkpoint.arch)
