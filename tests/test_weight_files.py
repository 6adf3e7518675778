"""Weight files are one format for every Keras backend.

Each step runs in its own process (the backend is fixed when Keras is imported): TensorFlow
writes, JAX reads and writes again, PyTorch reads and writes again, and this (TensorFlow)
process reads PyTorch's files. Every
reader must reproduce the writer's outputs from `.weights.h5` (Keras' format) and from our
by-layer-name HDF5 (`weight_files`).
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_muxnet._keras import LEGACY_KERAS, ON_TENSORFLOW
from keras_muxnet.models import MUXNet
from muxnet_tiny import TINY, images

REPO = pathlib.Path(__file__).resolve().parents[1]

STEP = textwrap.dedent("""
    import sys
    import numpy as np
    from keras_muxnet import weight_files
    from keras_muxnet._keras import BACKEND, keras
    from keras_muxnet.models import MUXNet
    from muxnet_tiny import TINY, images, randomize_batchnorm

    folder, previous, mine = sys.argv[1:4]
    x = images(2, 32)
    model = MUXNet(TINY, weights=None, input_shape=(32, 32, 3), classes=7)
    if previous == "-":  # the first writer: BatchNorm statistics of its own too
        randomize_batchnorm(model)
    else:
        outputs = {}
        for kind, load in [("keras_weights", model.load_weights),
                           ("by_name", lambda path: weight_files.load_weights_by_name(model, path))]:
            model.set_weights([np.zeros_like(w) for w in model.get_weights()])
            load(f"{folder}/{previous}.{kind}.weights.h5")
            outputs[kind] = model.predict(x, verbose=0)
        np.savez(f"{folder}/{mine}.read.npz", **outputs)
    model.save_weights(f"{folder}/{mine}.keras_weights.weights.h5")
    weight_files.save_weights_by_name(model, f"{folder}/{mine}.by_name.weights.h5")
    np.save(f"{folder}/{mine}.outputs.npy", model.predict(x, verbose=0))
    print(BACKEND)
""")

CHAIN = ["tensorflow", "jax", "torch"]


def _run_step(folder, backend, previous, mine):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": os.environ.get("JAX_TEST_XLA_FLAGS", ""),  # dev/test.sh: quick compiles
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    env.pop("TF_USE_LEGACY_KERAS", None)
    done = subprocess.run([sys.executable, "-c", STEP, str(folder), previous, mine], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == backend


@pytest.mark.slow
@pytest.mark.skipif(not ON_TENSORFLOW or LEGACY_KERAS, reason="the chain starts from Keras 3 on TensorFlow")
def test_files_written_on_one_backend_load_on_the_others(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    names = [f"{i}_{backend}" for i, backend in enumerate(CHAIN)]
    for i, backend in enumerate(CHAIN):
        _run_step(tmp_path, backend, names[i - 1] if i else "-", names[i])
    written = np.load(tmp_path / f"{names[0]}.outputs.npy")
    assert np.std(written) > 1e-3  # a model that computes something
    for name in names[1:]:
        read = np.load(tmp_path / f"{name}.read.npz")
        for kind in ("keras_weights", "by_name"):
            np.testing.assert_allclose(read[kind], written, atol=1e-4, err_msg=f"{name} {kind}")
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.outputs.npy"), written, atol=1e-4)
    model = MUXNet(TINY, weights=None, input_shape=(32, 32, 3), classes=7)
    model.load_weights(tmp_path / f"{names[-1]}.keras_weights.weights.h5")
    np.testing.assert_allclose(model.predict(images(2, 32), verbose=0), written, atol=1e-4)
    by_name = MUXNet(TINY, weights=str(tmp_path / f"{names[-1]}.by_name.weights.h5"),
                     input_shape=(32, 32, 3), classes=7)
    np.testing.assert_allclose(by_name.predict(images(2, 32), verbose=0), written, atol=1e-4)
