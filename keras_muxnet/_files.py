"""File helpers shared by the converter and the weights cache: hashing and all-or-nothing writes."""

import contextlib
import hashlib
import os
import tempfile

_CHUNK = 1 << 20


def sha256_of(path):
    """Hex sha256 of a file's bytes, read in chunks so large files cost no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def require_parent_dir(path):
    """Fail with a clear message when the folder a file should go into does not exist."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"cannot write {path!r}: the folder {parent!r} does not exist")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path, suffix=""):
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds.

    Readers never see a half-written file and a failure leaves nothing behind: the temporary
    file lives in the same folder (so `os.replace` is atomic) and is removed on any error.
    `suffix` keeps the ending some writers insist on (Keras wants `.weights.h5`).
    """
    require_parent_dir(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp" + suffix,
                               dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
