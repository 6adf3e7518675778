"""The package's one way to write a file (all or nothing) and to hash one.

Every writer of the package goes through `atomic_output`: readers never see a half-written file,
a failure leaves nothing behind, and the file gets the usual mode bits."""

import contextlib
import hashlib
import json
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


def check_writable(path):
    """Raise a clear error now if `path` cannot be created as a file (missing or read-only
    folder, or a folder of that name), before any slow work; returns the path as a string."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"cannot write {path!r}: it is a folder, give a file name")
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {path!r}: the folder {folder!r} is not writable")
    return path


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
    path = check_writable(path)
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


def write_bytes(path, data):
    """Write `data` to `path` all or nothing; returns the path."""
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def write_text(path, text):
    """Write `text` (UTF-8) to `path` all or nothing; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, data, indent=2, default=None):
    """Write `data` as JSON to `path` all or nothing (numpy scalars and arrays become plain
    numbers and lists); returns the path."""
    return write_text(path, json.dumps(data, indent=indent, default=default or _plain) + "\n")


def _plain(value):
    """JSON for numpy values (and paths); anything else is an error, as in `json.dumps`."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
