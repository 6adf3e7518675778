"""`weights=` resolution: the sha256-checked ImageNet cache, download-convert-install from a
loopback server (direct link) or through gdown (the authors' Drive folder, its network calls
replaced by local files), PyTorch checkpoints converted on the fly, and every refusal leaving
the cache as it was."""

import functools
import http.server
import json
import pathlib
import socket
import sys
import threading

import numpy as np
import pytest

from keras_muxnet import architectures, authors_weights, imagenet_cache, paper
from keras_muxnet._files import sha256_of
from keras_muxnet.checkpoint_conversion import convert_checkpoint
from keras_muxnet.models import MUXNet, MUXNetL, MUXNetM, MUXNetS, MUXNetXS

REPO = pathlib.Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4
BACKBONE = dict(include_top=False, pooling="avg", include_preprocessing=False)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty, not yet created cache folder that `weights="imagenet"` uses."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(imagenet_cache.HOME_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def converted_m(authors_checkpoint, tmp_path_factory):
    path = tmp_path_factory.mktemp("converted") / "muxnet_m.weights.h5"
    return convert_checkpoint(authors_checkpoint("muxnet_m"), "muxnet_m", path).path


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in pathlib.Path(folder).rglob("*") if p.is_file())


def test_home_defaults_under_keras_models(monkeypatch):
    monkeypatch.delenv(imagenet_cache.HOME_ENV, raising=False)
    assert imagenet_cache.home() == pathlib.Path.home() / ".keras" / "models" / "keras_muxnet"


def test_imagenet_with_ten_classes_and_a_top_is_refused(home):
    with pytest.raises(ValueError, match="needs classes=1000 .got 10.; use include_top=False"):
        MUXNetM(weights="imagenet", classes=10)
    assert not home.exists()


@pytest.mark.parametrize("constructor", [MUXNetXS, MUXNetS])
def test_unpublished_variants_have_no_weights_anywhere(home, constructor):
    with pytest.raises(ValueError, match="has no ImageNet weights anywhere: the authors released "
                                         "checkpoints only for MUXNet-m and MUXNet-l"):
        constructor(weights="imagenet", include_top=False)
    assert not home.exists()


def test_missing_weights_say_where_to_get_them_and_the_exact_command(home):
    with pytest.raises(imagenet_cache.WeightsCacheError) as error:
        MUXNetM(weights="imagenet")
    message = str(error.value)
    assert authors_weights.AUTHORS_FOLDER in message
    assert "keras-muxnet convert /path/to/muxnet_m.pth --model muxnet_m --install" in message
    assert str(home) in message
    assert not home.exists()


def test_installed_weights_load_backbone_only_without_top(home, converted_m, model_reference):
    installed = imagenet_cache.install(converted_m, "muxnet_m", source="reference")
    record = json.loads(imagenet_cache.record_path("muxnet_m").read_text())
    assert record["sha256"] == sha256_of(installed) == sha256_of(converted_m)
    reference = model_reference("muxnet_m")
    model = MUXNetM(weights="imagenet", input_shape=(None, None, 3), **BACKBONE)
    assert "predictions" not in [layer.name for layer in model.layers]
    np.testing.assert_allclose(model(reference.input_nhwc, training=False), reference.features,
                               rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("damage", ["changed_byte", "missing_record"])
def test_cache_that_no_longer_matches_its_record_is_refused(home, converted_m, damage):
    installed = imagenet_cache.install(converted_m, "muxnet_m")
    if damage == "changed_byte":
        data = bytearray(installed.read_bytes())
        data[len(data) // 2] ^= 0xFF
        installed.write_bytes(bytes(data))
        expected = "its sha256 is [0-9a-f]{64} but [0-9a-f]{64} was recorded"
    else:
        imagenet_cache.record_path("muxnet_m").unlink()
        expected = "record .* is missing or unreadable"
    before = {name: (home / name).read_bytes() for name in _files(home)}
    with pytest.raises(imagenet_cache.WeightsCacheError, match=expected) as error:
        MUXNetM(weights="imagenet", include_top=False)
    assert "Rebuild it: delete" in str(error.value)
    assert "keras-muxnet convert /path/to/muxnet_m.pth --model muxnet_m --install" in str(error.value)
    assert {name: (home / name).read_bytes() for name in _files(home)} == before


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def known_url_refuses(monkeypatch):
    """The known MUXNet-l URL pointed at a loopback port that refuses connections."""
    url = f"http://127.0.0.1:{_closed_port()}/muxnet_l.init"
    monkeypatch.setitem(authors_weights.PUBLISHED, "muxnet_l",
                        authors_weights.PublishedWeights("muxnet_l", url=url))
    return url


def test_failed_download_leaves_no_partial_file(home, known_url_refuses, monkeypatch, capsys):
    monkeypatch.delenv(authors_weights.OFFLINE_ENV, raising=False)
    with pytest.raises(imagenet_cache.WeightsCacheError, match="could not download the muxnet_l "
                                                              "checkpoint from http://127.0.0.1"):
        MUXNetL(weights="imagenet")
    assert "Downloading data from" in capsys.readouterr().out  # it really tried
    assert _files(home) == [] and list(home.iterdir()) == []


def test_offline_never_tries_the_known_url(home, known_url_refuses, monkeypatch, capsys):
    monkeypatch.setenv(authors_weights.OFFLINE_ENV, "1")
    with pytest.raises(imagenet_cache.WeightsCacheError, match="downloads are off .*"
                                                              "keras-muxnet convert"):
        MUXNetL(weights="imagenet")
    assert "Downloading" not in capsys.readouterr().out
    assert not home.exists()


@pytest.fixture
def loopback_server(authors_checkpoint):
    """Serves the folder of the authors'-format checkpoints on 127.0.0.1 (never a real host)."""
    folder = authors_checkpoint("muxnet_l").parent
    (folder / "README.md").write_text("not a checkpoint\n")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(loopback_server, monkeypatch):
    """name -> the known MUXNet-l link pointed at that file on the loopback server, downloads on."""
    monkeypatch.delenv(authors_weights.OFFLINE_ENV, raising=False)

    def serve(name):
        url = f"{loopback_server}/{name}"
        monkeypatch.setitem(authors_weights.PUBLISHED, "muxnet_l",
                            authors_weights.PublishedWeights("muxnet_l", url=url))
        return url

    return serve


def test_download_convert_install_then_load_offline(home, served, authors_checkpoint,
                                                    model_reference, monkeypatch):
    """The first use downloads, converts onto the model being built (here without its top) and
    installs a file that is, byte for byte, the converted file tests/test_conversion.py checks
    against the authors' outputs (manifest parity example); later uses never download."""
    url = served("muxnet_l_seeded0.pth")
    reference = model_reference("muxnet_l")
    model = MUXNetL(weights="imagenet", input_shape=(None, None, 3), **BACKBONE)
    np.testing.assert_allclose(model(reference.input_nhwc, training=False), reference.features,
                               rtol=0, atol=TOLERANCE)
    path = imagenet_cache.weights_path("muxnet_l")
    record = json.loads(imagenet_cache.record_path("muxnet_l").read_text())
    assert record["source"] == url
    assert record["source_sha256"] == sha256_of(authors_checkpoint("muxnet_l"))
    example = json.loads((REPO / "weights" / "manifest.json").read_text())["parity_examples"]
    assert record["sha256"] == sha256_of(path) == example["muxnet_l"]["converted_sha256"]
    assert _files(home) == ["downloads/muxnet_l_seeded0.pth", "muxnet_l_imagenet.json",
                            "muxnet_l_imagenet.weights.h5"]

    monkeypatch.setitem(authors_weights.PUBLISHED, "muxnet_l", authors_weights.PublishedWeights(
        "muxnet_l", url=f"http://127.0.0.1:{_closed_port()}/muxnet_l_seeded0.pth"))
    full = MUXNetL(weights="imagenet", include_preprocessing=False, classifier_activation=None)
    np.testing.assert_allclose(full(reference.input_nhwc, training=False), reference.logits,
                               rtol=0, atol=TOLERANCE)


def test_downloaded_file_that_is_no_checkpoint_is_deleted(home, served):
    served("README.md")
    with pytest.raises(imagenet_cache.WeightsCacheError, match="is not a usable muxnet_l "
                                                               "checkpoint, so it was deleted"):
        MUXNetL(weights="imagenet")
    assert _files(home) == []


@pytest.fixture
def drive_folder(authors_checkpoint, monkeypatch):
    """The authors' Drive folder as gdown sees it, with gdown's two network calls replaced by
    local files: the listing names two checkpoints, the download copies ours."""
    gdown = pytest.importorskip("gdown")
    from gdown.download_folder import GoogleDriveFileToDownload

    monkeypatch.delenv(authors_weights.OFFLINE_ENV, raising=False)
    files = {"id-l": authors_checkpoint("muxnet_l"), "id-m": authors_checkpoint("muxnet_m")}
    calls = []

    def download_folder(url=None, skip_download=False, **kwargs):
        calls.append(("list", url))
        assert skip_download, "only the listing is asked of the folder"
        return [GoogleDriveFileToDownload("id-l", "muxnet_l.init", None),
                GoogleDriveFileToDownload("id-m", "muxnet_m_imagenet.pth.tar", None)]

    def download(id=None, output=None, **kwargs):
        calls.append(("download", id))
        pathlib.Path(output).write_bytes(files[id].read_bytes())
        return output

    monkeypatch.setattr(gdown, "download_folder", download_folder)
    monkeypatch.setattr(gdown, "download", download)
    return calls


def test_muxnet_m_comes_from_the_authors_drive_folder(home, drive_folder, model_reference):
    reference = model_reference("muxnet_m")
    model = MUXNetM(weights="imagenet", include_preprocessing=False, classifier_activation=None)
    np.testing.assert_allclose(model(reference.input_nhwc, training=False), reference.logits,
                               rtol=0, atol=TOLERANCE)
    assert drive_folder == [("list", authors_weights.AUTHORS_FOLDER), ("download", "id-m")]
    record = json.loads(imagenet_cache.record_path("muxnet_m").read_text())
    assert record["source"] == authors_weights.AUTHORS_FOLDER
    assert _files(home) == ["downloads/muxnet_m_imagenet.pth.tar", "muxnet_m_imagenet.json",
                            "muxnet_m_imagenet.weights.h5"]


def test_unreachable_drive_folder_keeps_the_manual_steps(home, monkeypatch):
    gdown = pytest.importorskip("gdown")
    monkeypatch.delenv(authors_weights.OFFLINE_ENV, raising=False)

    def unreachable(**kwargs):
        raise ConnectionError("Failed to resolve host")

    monkeypatch.setattr(gdown, "download_folder", unreachable)
    with pytest.raises(imagenet_cache.WeightsCacheError, match="could not list the authors' "
                                                               "folder .*Failed to resolve") as error:
        MUXNetM(weights="imagenet")
    assert "keras-muxnet convert /path/to/muxnet_m.pth --model muxnet_m --install" in str(error.value)
    assert _files(home) == [] and not (home / "downloads").exists()


def test_without_gdown_the_error_names_the_extra(home, monkeypatch):
    monkeypatch.delenv(authors_weights.OFFLINE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "gdown", None)  # makes `import gdown` fail
    with pytest.raises(imagenet_cache.WeightsCacheError, match=r"needs the gdown package: pip "
                                                               r"install 'keras-muxnet\[convert\]'"):
        MUXNetM(weights="imagenet")
    assert not home.exists()


def test_pytorch_checkpoint_path_is_converted_on_the_fly(authors_checkpoint, model_reference):
    reference = model_reference("muxnet_m")
    model = MUXNet("muxnet_m", weights=authors_checkpoint("muxnet_m"), input_shape=(None, None, 3),
                   **BACKBONE)
    np.testing.assert_allclose(model(reference.input_nhwc, training=False), reference.features,
                               rtol=0, atol=TOLERANCE)


TINY = architectures.MUXNetSpec(
    name="tiny", stages=(("ds_k3_s1_c16_se0.25_nre",), ("mux_r1_k3_e2_c16_se0.5_l0.5",)),
    head_filters=32)


def test_keras3_positional_weights_file_still_loads(tmp_path):
    """Keras 3's own save_weights keys layers by position; such a file loads into the same model."""
    small = dict(include_top=False, input_shape=(32, 32, 3))
    source = MUXNet(TINY, weights=None, **small)
    path = tmp_path / "own.weights.h5"
    source.save_weights(str(path))
    target = MUXNet(TINY, weights=path, **small)
    assert len(target.weights) > 10
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_unsupported_weights_file_suffix(tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="unsupported weights file .* PyTorch checkpoint"):
        MUXNetM(weights=path)


def test_manifest_agrees_with_the_package():
    manifest = json.loads((REPO / "weights" / "manifest.json").read_text())
    assert sorted(manifest["variants"]) == sorted(authors_weights.PUBLISHED)
    for variant, published in authors_weights.PUBLISHED.items():
        entry = manifest["variants"][variant]
        assert entry["url"] == published.url
        assert entry["source_sha256"] == published.source_sha256
        assert entry["authors_top1"] == paper.TABLE_1[variant].top1 == published.top1
        assert entry["folder"] == authors_weights.AUTHORS_FOLDER
