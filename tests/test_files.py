"""The package's one all-or-nothing writer (and its JSON / bytes helpers) and hashing."""

import hashlib
import json
import os

import pytest

import numpy as np

from keras_muxnet._files import atomic_output, check_writable, sha256_of, write_json


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


def test_json_takes_numpy_values_and_a_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "report.json"
    write_json(target, {"ratio": np.float32(1.5), "rows": np.arange(3), "n": np.int64(2)})
    assert json.loads(target.read_text()) == {"ratio": 1.5, "rows": [0, 1, 2], "n": 2}
    with pytest.raises(TypeError, match="cannot write object as JSON"):
        write_json(target, {"bad": object()})
    assert json.loads(target.read_text())["n"] == 2
    assert os.listdir(tmp_path) == ["report.json"]


def test_unwritable_destinations_are_named_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="it is a folder, give a file name"):
        check_writable(tmp_path)
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        if os.access(read_only, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        with pytest.raises(ValueError, match="is not writable"):
            check_writable(read_only / "x.bin")
    finally:
        read_only.chmod(0o700)
