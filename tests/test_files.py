"""All-or-nothing writes and hashing used by the converter and the weights cache."""

import hashlib
import os

import pytest

from keras_muxnet._files import atomic_output, sha256_of


def test_success_moves_the_file_into_place_with_the_usual_mode(tmp_path):
    target = tmp_path / "out.weights.h5"
    with atomic_output(str(target), suffix=".weights.h5") as tmp:
        assert tmp.endswith(".weights.h5") and os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "wb") as f:
            f.write(b"abc")
    assert target.read_bytes() == b"abc"
    assert os.listdir(tmp_path) == ["out.weights.h5"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failure_leaves_neither_the_target_nor_a_temporary_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer broke"):
        with atomic_output(str(target)) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("writer broke")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="the folder .*missing' does not exist"):
        with atomic_output(str(tmp_path / "missing" / "out.bin")):
            pass
    assert os.listdir(tmp_path) == []


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(os.urandom(3 << 20))
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()
