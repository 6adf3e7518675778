"""The local cache behind `weights="imagenet"`: converted weights with a recorded sha256.

The only ImageNet weights of MUXNet are the authors' PyTorch checkpoints of MUXNet-m and
MUXNet-l. They are converted once (`keras-muxnet convert CHECKPOINT --model V --install`, or
automatically after a download where the authors' code names a direct URL) into
`$KERAS_MUXNET_HOME/<variant>_imagenet.weights.h5`, beside a record
`<variant>_imagenet.json` holding the file's sha256 and where it came from. Every load
re-hashes the file and refuses one that no longer matches its record: a changed or
half-copied file is never loaded silently.
"""

import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import shutil
import socket
import tempfile
import urllib.parse

from keras_muxnet import paper
from keras_muxnet._files import atomic_output, sha256_of

HOME_ENV = "KERAS_MUXNET_HOME"
OFFLINE_ENV = "KERAS_MUXNET_OFFLINE"  # set to 1 to never download (tests, air-gapped machines)
DOWNLOAD_TIMEOUT = 60  # seconds without an answer before a download counts as failed
DEFAULT_HOME = os.path.join("~", ".keras", "models", "keras_muxnet")
DOWNLOADS = "downloads"

# The authors' README points here for all their checkpoints (no direct file links).
AUTHORS_FOLDER = "https://drive.google.com/drive/folders/1rgKxH4juIDQ7MX5U3XAUI5_aGvTJKoqd"


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """What is known about the authors' ImageNet checkpoint of one variant.

    `url` is a direct link where the authors' code names one; `source_sha256` is filled in
    once someone has the file and checks it (unknown so far: this project was built offline).
    """

    variant: str
    url: str = None
    source_sha256: str = None

    @property
    def top1(self):
        """The authors' reported ImageNet top-1 (the paper's Table 1); not measured here."""
        return paper.TABLE_1[self.variant].top1


PUBLISHED = {
    "muxnet_m": PublishedWeights("muxnet_m"),
    "muxnet_l": PublishedWeights(
        "muxnet_l",
        url="https://www.zhichaolu.com/assets/muxconv/pretrained/imagenet/muxnet_l.init"),
}


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
    checkpoint = checkpoint or f"/path/to/{variant}.pth"
    return f"keras-muxnet convert {checkpoint} --model {variant} --install"


def unpublished_message(spec):
    return (f"{spec.name} has no ImageNet weights anywhere: the authors released checkpoints only "
            f"for MUXNet-m and MUXNet-l, and {spec.name} here is a configuration derived by this "
            f"project. Train it yourself, or use weights=None.")


def _where_to_get(variant):
    published = PUBLISHED[variant]
    where = f"the authors' folder {AUTHORS_FOLDER}"
    if published.url:
        where = f"{published.url} or {where}"
    return (f"Get the authors' {variant} checkpoint from {where}, then run: "
            f"{convert_command(variant)} (set ${HOME_ENV} to choose the cache folder, now "
            f"{home()})")


def install(weights_file, variant, source=None, source_sha256=None, folder=None):
    """Copy a converted `.weights.h5` into the cache and record its sha256; return its path.

    Both the file and its record are written atomically; a file already there is replaced.
    """
    folder = pathlib.Path(folder or home())
    folder.mkdir(parents=True, exist_ok=True)
    target = weights_path(variant, folder)
    digest = sha256_of(weights_file)
    with atomic_output(str(target), suffix=".weights.h5") as tmp:
        shutil.copyfile(weights_file, tmp)
        if sha256_of(tmp) != digest:
            raise WeightsCacheError(f"copying {weights_file!r} into {folder} changed its bytes")
    record = {
        "variant": variant,
        "file": target.name,
        "sha256": digest,
        "source": os.fspath(source) if source else None,
        "source_sha256": source_sha256,
        "installed": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_output(str(record_path(variant, folder))) as tmp:
        with open(tmp, "w") as f:
            json.dump(record, f, indent=2)
    return target


def verified_path(variant, folder=None):
    """The cached weights of `variant` after checking their sha256, or None if not cached."""
    target = weights_path(variant, folder)
    if not target.is_file():
        return None
    rebuild = (f"Rebuild it: delete {target} and run {convert_command(variant)}")
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


def imagenet_weights(spec, folder=None, url=None):
    """Path of verified ImageNet weights for `spec`, downloading and converting if possible.

    `url` overrides the known download link (tests point it at a local server); with
    $KERAS_MUXNET_OFFLINE set, the known link is never tried.
    """
    if not spec.published or spec.name not in PUBLISHED:
        raise WeightsCacheError(unpublished_message(spec))
    cached = verified_path(spec.name, folder)
    if cached is not None:
        return cached
    if url is None and PUBLISHED[spec.name].url and offline():
        raise WeightsCacheError(f"ImageNet weights for {spec.name} are not in the cache "
                                f"({weights_path(spec.name, folder)}) and downloads are off "
                                f"(${OFFLINE_ENV} is set). {_where_to_get(spec.name)}")
    url = url or PUBLISHED[spec.name].url
    if url is None:
        raise WeightsCacheError(f"ImageNet weights for {spec.name} are not in the cache "
                                f"({weights_path(spec.name, folder)}), and the authors publish no "
                                f"direct link to download them. {_where_to_get(spec.name)}")
    return download_and_install(spec, url, folder)


def offline():
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


@contextlib.contextmanager
def _socket_timeout(seconds):
    """urllib (inside keras.utils.get_file) waits forever by default on a silent network."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds if previous is None else previous)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def download_and_install(spec, url, folder=None):
    """Download the authors' checkpoint of `spec`, convert it and install it in the cache.

    The download goes to a private temporary folder first and moves into `downloads/` only
    when complete (and matching the known sha256, if any), so a failure leaves no partial file.
    A complete earlier download is reused.
    """
    from keras_muxnet import conversion
    from keras_muxnet._keras import keras

    folder = pathlib.Path(folder or home())
    downloads = folder / DOWNLOADS
    name = os.path.basename(urllib.parse.urlparse(url).path) or f"{spec.name}.pth"
    source = downloads / name
    expected = PUBLISHED[spec.name].source_sha256
    if not source.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        partial = tempfile.mkdtemp(prefix=".partial-", dir=downloads)
        try:
            with _socket_timeout(DOWNLOAD_TIMEOUT):
                fetched = keras.utils.get_file(fname=name, origin=url, cache_dir=partial,
                                               cache_subdir=".", file_hash=expected)
            os.replace(fetched, source)
        except Exception as error:  # get_file raises bare Exception for network errors
            raise WeightsCacheError(
                f"could not download the {spec.name} checkpoint from {url}: {error}. Nothing was "
                f"kept in {downloads}. {_where_to_get(spec.name)}") from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            with contextlib.suppress(OSError):
                downloads.rmdir()  # only succeeds when empty
    with tempfile.TemporaryDirectory(dir=folder) as work:
        converted = os.path.join(work, f"{spec.name}.weights.h5")
        try:
            result = conversion.convert_checkpoint(source, spec, converted)
        except ValueError as error:
            source.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                downloads.rmdir()
            raise WeightsCacheError(f"the file downloaded from {url} is not a usable {spec.name} "
                                    f"checkpoint, so it was deleted: {error}") from None
        return install(converted, spec.name, source=url, source_sha256=result.source_sha256,
                       folder=folder)

