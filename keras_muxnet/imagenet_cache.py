"""The local cache behind `weights="imagenet"`: converted weights with a recorded sha256.

Converted ImageNet weights live in `$KERAS_MUXNET_HOME/<variant>_imagenet.weights.h5`, beside
a record `<variant>_imagenet.json` holding the file's sha256 and where it came from. Every load
re-hashes the file and refuses one that no longer matches its record: a changed or half-copied
file is never loaded silently. This module only stores and checks files; fetching the authors'
checkpoints is `authors_weights`, converting them `weights_request` and `checkpoint_conversion`.
"""

import datetime
import json
import os
import pathlib
import shutil

from keras_muxnet._files import atomic_output, sha256_of, write_json

HOME_ENV = "KERAS_MUXNET_HOME"
DEFAULT_HOME = os.path.join("~", ".keras", "models", "keras_muxnet")
DOWNLOADS = "downloads"  # where fetched checkpoints are kept, inside the cache folder


class WeightsCacheError(ValueError):
    """The cache cannot provide the requested weights; the message says how to fix it."""


def home():
    """The cache folder: $KERAS_MUXNET_HOME, else ~/.keras/models/keras_muxnet."""
    return pathlib.Path(os.path.expanduser(os.environ.get(HOME_ENV) or DEFAULT_HOME))


def weights_path(variant, folder=None):
    return pathlib.Path(folder or home()) / f"{variant}_imagenet.weights.h5"


def record_path(variant, folder=None):
    return pathlib.Path(folder or home()) / f"{variant}_imagenet.json"


def convert_command(variant, checkpoint=None):
    """The command line that converts and installs a checkpoint by hand."""
    checkpoint = checkpoint or f"/path/to/{variant}.pth"
    return f"keras-muxnet convert {checkpoint} --model {variant} --install"


def install(weights_file, variant, source=None, source_sha256=None, folder=None):
    """Copy a converted `.weights.h5` into the cache and record its sha256; return its path.

    Both the file and its record are written atomically; a file already there is replaced.
    """
    folder = pathlib.Path(folder or home())
    folder.mkdir(parents=True, exist_ok=True)
    target = weights_path(variant, folder)
    digest = sha256_of(weights_file)
    with atomic_output(target, suffix=".weights.h5") as tmp:
        shutil.copyfile(weights_file, tmp)
        if sha256_of(tmp) != digest:
            raise WeightsCacheError(f"copying {weights_file!r} into {folder} changed its bytes")
    write_json(record_path(variant, folder), {
        "variant": variant,
        "file": target.name,
        "sha256": digest,
        "source": os.fspath(source) if source else None,
        "source_sha256": source_sha256,
        "installed": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    return target


def verified_path(variant, folder=None):
    """The cached weights of `variant` after checking their sha256, or None if not cached."""
    target = weights_path(variant, folder)
    if not target.is_file():
        return None
    rebuild = f"Rebuild it: delete {target} and run {convert_command(variant)}"
    try:
        with open(record_path(variant, folder)) as f:
            recorded = json.load(f)["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise WeightsCacheError(f"refusing to load {target}: its record "
                                f"{record_path(variant, folder).name} (the sha256 written when it "
                                f"was installed) is missing or unreadable. {rebuild}") from None
    actual = sha256_of(target)
    if actual != recorded:
        raise WeightsCacheError(f"refusing to load {target}: its sha256 is {actual} but "
                                f"{recorded} was recorded when it was installed, so the file "
                                f"changed since. {rebuild}")
    return target
