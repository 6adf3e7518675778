"""Write an exported file all at once: into a temporary file beside it, then `os.replace`.

A failed conversion or a full disk never leaves a half-written model where the user expects one,
and an unwritable destination is reported before minutes of conversion are spent.
"""

import os
import tempfile


def check_writable(path):
    """Raise a clear error now if `path` cannot be created (missing folder, no permission)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"cannot write {path!r}: it is a folder, give a file name")
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write {path!r}: the folder {folder!r} is not writable")
    return path


def write_atomically(path, data):
    """Write bytes to `path` through a temporary file in the same folder and `os.replace`."""
    path = check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
