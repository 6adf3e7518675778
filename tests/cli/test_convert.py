"""`keras-muxnet convert`: the documented install path end to end, and each bad invocation a
clear error (exit code 2) that writes nothing."""

import numpy as np
import pytest

from keras_muxnet import imagenet_cache
from keras_muxnet._files import sha256_of
from keras_muxnet.cli import main
from keras_muxnet.models import MUXNetM


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.both_modes
def test_convert_install_then_weights_imagenet_loads(authors_checkpoint, model_reference, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv(imagenet_cache.HOME_ENV, str(home))
    output = tmp_path / "muxnet_m.weights.h5"
    code = main(["convert", str(authors_checkpoint("muxnet_m")), "--model", "muxnet_m",
                 "--out", str(output), "--install"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "used 'state_dict_ema'" in printed and f"installed {home}" in printed
    assert sha256_of(output) == sha256_of(home / "muxnet_m_imagenet.weights.h5")

    model = MUXNetM(weights="imagenet", include_preprocessing=False, classifier_activation=None)
    reference = model_reference("muxnet_m")
    logits = model(reference.input_nhwc, training=False)
    np.testing.assert_allclose(logits, reference.logits, rtol=0, atol=1e-4)


def test_install_without_output_and_use_state_dict(authors_checkpoint, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv(imagenet_cache.HOME_ENV, str(home))
    code = main(["convert", str(authors_checkpoint("muxnet_m")), "--model", "muxnet_m",
                 "--install", "--use-state-dict"])
    assert code == 0
    assert "used 'state_dict'" in capsys.readouterr().out
    assert _files(home) == ["muxnet_m_imagenet.json", "muxnet_m_imagenet.weights.h5"]
    assert imagenet_cache.verified_path("muxnet_m") == home / "muxnet_m_imagenet.weights.h5"


def _convert(capsys, *args):
    """`keras-muxnet convert ARGS` in this process: (exit code, what it printed to stderr)."""
    try:
        code = main(["convert", *args])
    except SystemExit as exit_:  # argparse refuses a bad choice this way
        code = exit_.code
    return code, capsys.readouterr().err


def test_output_in_a_missing_folder(authors_checkpoint, tmp_path, capsys):
    code, stderr = _convert(capsys, str(authors_checkpoint("muxnet_m")), "--model", "muxnet_m",
                            "--out", str(tmp_path / "nowhere" / "m.weights.h5"))
    assert code == 2
    assert "the folder" in stderr and "nowhere' does not exist" in stderr
    assert _files(tmp_path) == []


@pytest.mark.parametrize("args, message", [
    (["--model", "muxnet_l", "--out", "{tmp}/l.weights.h5"],
     "is a muxnet_m checkpoint (its 'arch' says so), not muxnet_l"),
    (["--model", "muxnet_m", "--out", "{tmp}/m.h5"], "must end with .weights.h5"),
    (["--model", "muxnet_m"], "nothing to do: give --out"),
    (["--model", "muxnet_l", "--install"], "not muxnet_l; convert it with --model muxnet_m"),
])
def test_bad_invocations_write_nothing(authors_checkpoint, tmp_path, monkeypatch, capsys, args, message):
    home = tmp_path / "home"
    monkeypatch.setenv(imagenet_cache.HOME_ENV, str(home))
    code, stderr = _convert(capsys, str(authors_checkpoint("muxnet_m")),
                            *[a.format(tmp=tmp_path) for a in args])
    assert code == 2
    assert message in stderr
    assert _files(tmp_path) == [] and not home.exists()


def test_unpublished_variant_is_not_a_choice(authors_checkpoint, capsys):
    code, stderr = _convert(capsys, str(authors_checkpoint("muxnet_m")), "--model", "muxnet_s",
                            "--install")
    assert code == 2
    assert "invalid choice: 'muxnet_s'" in stderr
