"""The authors' published ImageNet checkpoints: what exists, where, and fetching it.

The only ImageNet weights of MUXNet are the authors' PyTorch checkpoints of MUXNet-m and
MUXNet-l. Their code names a direct link for MUXNet-l; their README points to a Google Drive
folder for all their checkpoints, which is the only place MUXNet-m is published. `fetch`
brings a checkpoint into the cache's `downloads/` folder (a direct link with Keras' `get_file`,
the Drive folder with `gdown`, a maintained Drive client, picking the file by its name) and
returns its path; converting and installing it is `weights_request`'s job. A failed or
forbidden download leaves nothing behind and says how to get the file by hand.
"""

import contextlib
import dataclasses
import os
import pathlib
import shutil
import socket
import tempfile
import urllib.parse

from keras_muxnet import paper
from keras_muxnet.imagenet_cache import DOWNLOADS, HOME_ENV, WeightsCacheError, convert_command, home

OFFLINE_ENV = "KERAS_MUXNET_OFFLINE"  # set to 1 to never download (tests, air-gapped machines)
DOWNLOAD_TIMEOUT = 60  # seconds without an answer before a download counts as failed

# The authors' README points here for all their checkpoints (no direct file links).
AUTHORS_FOLDER = "https://drive.google.com/drive/folders/1rgKxH4juIDQ7MX5U3XAUI5_aGvTJKoqd"


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """What is known about the authors' ImageNet checkpoint of one variant.

    `url` is a direct link where the authors' code names one, else the file is taken from the
    Drive folder by name (`folder_file`: the start of its file name there); `source_sha256` is
    filled in once someone has the file and checks it (unknown so far: built offline).
    """

    variant: str
    url: str = None
    folder_file: str = None
    source_sha256: str = None

    @property
    def top1(self):
        """The authors' reported ImageNet top-1 (the paper's Table 1); not measured here."""
        return paper.TABLE_1[self.variant].top1


PUBLISHED = {
    "muxnet_m": PublishedWeights("muxnet_m", folder_file="muxnet_m"),
    "muxnet_l": PublishedWeights(
        "muxnet_l",
        url="https://www.zhichaolu.com/assets/muxconv/pretrained/imagenet/muxnet_l.init"),
}


def unpublished_message(spec):
    return (f"{spec.name} has no ImageNet weights anywhere: the authors released checkpoints only "
            f"for MUXNet-m and MUXNet-l, and {spec.name} here is a configuration derived by this "
            f"project. Train it yourself, or use weights=None.")


def where_to_get(variant):
    """The manual route: where the checkpoint is and the command that installs it."""
    published = PUBLISHED[variant]
    where = f"the authors' folder {AUTHORS_FOLDER}"
    if published.url:
        where = f"{published.url} or {where}"
    return (f"Get the authors' {variant} checkpoint from {where}, then run: "
            f"{convert_command(variant)} (set ${HOME_ENV} to choose the cache folder, now "
            f"{home()})")


def origin(spec, url=None):
    """Where the checkpoint of `spec` comes from: `url`, the known direct link, or the folder."""
    return url or PUBLISHED[spec.name].url or AUTHORS_FOLDER


def offline():
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def _file_name(variant, url):
    return os.path.basename(urllib.parse.urlparse(url).path) or f"{variant}.pth"


def downloaded_path(spec, folder=None, url=None):
    """A complete earlier download of the checkpoint (from `url`, else the known source), or None."""
    downloads = pathlib.Path(folder or home()) / DOWNLOADS
    published = PUBLISHED[spec.name]
    url = url or published.url
    if url is not None:
        found = [downloads / _file_name(spec.name, url)]
    else:
        found = sorted(downloads.glob(f"{published.folder_file}*")) if downloads.is_dir() else []
    return next((path for path in found if path.is_file()), None)


def fetch(spec, folder=None, url=None):
    """Path of the authors' checkpoint of `spec` in the cache's downloads folder, fetched if needed.

    `url` overrides the known direct link (tests point it at a loopback server). With
    $KERAS_MUXNET_OFFLINE set the known sources are never tried. Raises WeightsCacheError with
    the manual steps when the checkpoint cannot be had.
    """
    published = PUBLISHED.get(spec.name)
    if not spec.published or published is None:
        raise WeightsCacheError(unpublished_message(spec))
    earlier = downloaded_path(spec, folder, url)
    if earlier is not None:
        return earlier
    if url is None and offline():
        raise WeightsCacheError(f"ImageNet weights for {spec.name} are not in the cache "
                                f"({pathlib.Path(folder or home())}) and downloads are off "
                                f"(${OFFLINE_ENV} is set). {where_to_get(spec.name)}")
    url = url or published.url
    if url is not None:
        return _download(spec.name, url, folder, published.source_sha256)
    return _download_from_folder(spec.name, published.folder_file, folder)


@contextlib.contextmanager
def _partial_download(variant, folder):
    """A private temporary folder inside downloads/, removed whatever happens; downloads/ itself
    is removed again when nothing was kept in it."""
    downloads = pathlib.Path(folder or home()) / DOWNLOADS
    downloads.mkdir(parents=True, exist_ok=True)
    partial = pathlib.Path(tempfile.mkdtemp(prefix=".partial-", dir=downloads))
    try:
        yield downloads, partial
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        with contextlib.suppress(OSError):
            downloads.rmdir()  # only succeeds when empty


@contextlib.contextmanager
def _socket_timeout(seconds):
    """urllib (inside keras.utils.get_file) waits forever by default on a silent network."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds if previous is None else previous)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _download(variant, url, folder, expected_sha256):
    """A direct link: into a private temporary folder, then moved into downloads/ when whole."""
    from keras_muxnet._keras import keras

    name = _file_name(variant, url)
    with _partial_download(variant, folder) as (downloads, partial):
        try:
            with _socket_timeout(DOWNLOAD_TIMEOUT):
                fetched = keras.utils.get_file(fname=name, origin=url, cache_dir=str(partial),
                                               cache_subdir=".", file_hash=expected_sha256)
            source = downloads / name
            os.replace(fetched, source)
            return source
        except Exception as error:  # get_file raises bare Exception for network errors
            raise WeightsCacheError(
                f"could not download the {variant} checkpoint from {url}: {error}. Nothing was "
                f"kept in {downloads}. {where_to_get(variant)}") from None


def _download_from_folder(variant, file_prefix, folder):
    """The authors' Drive folder: list it with gdown, pick the one file named for the variant."""
    try:
        import gdown
    except ImportError:
        raise WeightsCacheError(
            f"ImageNet weights for {variant} are not in the cache, and the authors publish them only "
            f"in a Google Drive folder, which needs the gdown package: pip install "
            f"'keras-muxnet[convert]'. {where_to_get(variant)}") from None
    with _partial_download(variant, folder) as (downloads, partial):
        try:
            listing = gdown.download_folder(url=AUTHORS_FOLDER, skip_download=True, quiet=True,
                                            timeout=DOWNLOAD_TIMEOUT)
        except Exception as error:  # gdown raises its own and requests' errors
            raise WeightsCacheError(f"could not list the authors' folder {AUTHORS_FOLDER}: "
                                    f"{error}. {where_to_get(variant)}") from None
        matches = [entry for entry in listing or []
                   if os.path.basename(entry.path).lower().startswith(file_prefix)]
        if len(matches) != 1:
            names = sorted(os.path.basename(entry.path) for entry in listing or [])
            raise WeightsCacheError(f"expected one file named {file_prefix}* in the authors' folder "
                                    f"{AUTHORS_FOLDER}, found {len(matches)} among {names}. "
                                    f"{where_to_get(variant)}")
        name = os.path.basename(matches[0].path)
        try:
            fetched = gdown.download(id=matches[0].id, output=str(partial / name), quiet=False,
                                     timeout=DOWNLOAD_TIMEOUT)
            source = downloads / name
            os.replace(fetched, source)
            return source
        except Exception as error:
            raise WeightsCacheError(
                f"could not download {name} from the authors' folder {AUTHORS_FOLDER}: {error}. "
                f"Nothing was kept in {downloads}. {where_to_get(variant)}") from None
