"""The builders' `weights=` argument: resolved once before building, loaded once after.

`resolve` turns `None`, `"imagenet"` or a file path into a `WeightsRequest` and fails fast,
before the slow build, on anything it cannot serve:
- "imagenet": the converted weights in the local cache, sha256-checked here, once
  (`imagenet_cache`); when they are not cached yet, the authors' checkpoint fetched where it is
  published (`authors_weights`), else a clear error with the manual steps;
- a `.weights.h5` path: loaded by layer name, so it also fits a model without its top;
- a PyTorch checkpoint path (`.pth`, `.pt`, `.tar`, `.init`, `.safetensors`, ...): read here,
  converted onto the built model with the same mapping as `keras-muxnet convert`.

`load` puts the weights into the model the builder made. A checkpoint fetched for "imagenet" is
converted onto that model and then installed in the cache from it (the classifier taken from
the checkpoint when the model has no top), so the first use builds one model and hashes once.
Nothing here builds a model: the builder calls down into this module, never the reverse.
"""

import dataclasses
import os
import pathlib
import tempfile

from keras_muxnet import authors_weights, checkpoints, conversion, imagenet_cache, weight_files
from keras_muxnet._files import sha256_of

IMAGENET_CLASSES = 1000


@dataclasses.dataclass(frozen=True)
class WeightsRequest:
    """A resolved `weights=` argument.

    kind: "none", "weights_file" (a Keras .weights.h5, already verified where it is the cache's)
    or "checkpoint" (a PyTorch checkpoint, already read). `install_as` names the variant whose
    ImageNet cache entry this checkpoint becomes once converted, `origin` where it was fetched.
    """

    kind: str
    path: str = None
    checkpoint: checkpoints.Checkpoint = None
    install_as: str = None
    origin: str = None


NONE = WeightsRequest("none")


def resolve(spec, weights, include_top, classes):
    """Check a `weights` argument against the architecture and find its file; see the module."""
    if weights is None:
        return NONE
    if isinstance(weights, str) and weights == "imagenet":
        return _resolve_imagenet(spec, include_top, classes)
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"weights must be None, 'imagenet' or a path to a weights file, got {weights!r}")
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(f"weights must be None, 'imagenet' or a path to a weights file; "
                         f"no file at {path!r}")
    if checkpoints.is_checkpoint_path(path):
        checkpoint = checkpoints.read_checkpoint(path)
        conversion.check_arch(checkpoint, spec)
        return WeightsRequest("checkpoint", path, checkpoint)
    if path.endswith(weight_files.WEIGHT_FILE_SUFFIXES):
        return WeightsRequest("weights_file", path)
    raise ValueError(f"unsupported weights file {path!r}: expected a Keras .weights.h5 file or "
                     f"a PyTorch checkpoint ({', '.join(checkpoints.CHECKPOINT_SUFFIXES)})")


def _resolve_imagenet(spec, include_top, classes):
    if not spec.published:
        raise ValueError(authors_weights.unpublished_message(spec))
    if include_top and classes != IMAGENET_CLASSES:
        raise ValueError(
            f"weights='imagenet' with include_top=True needs classes={IMAGENET_CLASSES} (got "
            f"{classes}); use include_top=False and add your own head to fine-tune on "
            f"{classes} classes")
    cached = imagenet_cache.verified_path(spec.name)
    if cached is not None:
        return WeightsRequest("weights_file", os.fspath(cached))
    return fetched_imagenet_request(spec)


def fetched_imagenet_request(spec, url=None):
    """The request for the authors' checkpoint of `spec`, fetched into the cache's downloads
    (from `url` when given); a downloaded file that is no readable checkpoint is deleted."""
    source = pathlib.Path(authors_weights.fetch(spec, url=url))
    try:
        checkpoint = checkpoints.read_checkpoint(source)
        conversion.check_arch(checkpoint, spec)
    except ValueError as error:
        _discard_download(source, spec, error)
    return WeightsRequest("checkpoint", os.fspath(source), checkpoint, install_as=spec.name,
                          origin=authors_weights.origin(spec, url))


def _discard_download(source, spec, error):
    source.unlink(missing_ok=True)
    try:
        source.parent.rmdir()  # the downloads folder, when nothing else is in it
    except OSError:
        pass
    raise imagenet_cache.WeightsCacheError(
        f"the file downloaded as {source.name} is not a usable {spec.name} checkpoint, so it was "
        f"deleted: {error}") from None


def load(model, spec, request):
    """Put the resolved weights into `model` (built by the builder for `spec`)."""
    if request.kind == "none":
        return
    if request.kind == "weights_file":
        weight_files.load_weights_by_name(model, request.path)
        return
    include_top = _has_top(model)
    state_dict = request.checkpoint.state_dict
    try:
        conversion.assign(model, conversion.convert_state_dict(state_dict, model, spec, include_top))
    except ValueError as error:
        if request.install_as:
            _discard_download(pathlib.Path(request.path), spec, error)
        raise
    if request.install_as:
        _install(model, spec, request, include_top)


def _has_top(model):
    return any(layer.name == conversion.CLASSIFIER for layer in model.layers)


def _install(model, spec, request, include_top):
    """Write the converted weights once and install them as the ImageNet weights of `spec`."""
    extra = None if include_top else conversion.classifier_weights(request.checkpoint.state_dict, spec)
    folder = imagenet_cache.home()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        converted = os.path.join(work, f"{spec.name}.weights.h5")
        weight_files.save_weights_by_name(model, converted, extra_layers=extra)
        imagenet_cache.install(converted, spec.name, source=request.origin,
                               source_sha256=sha256_of(request.path))
