"""The benchmark measures models side by side and reports comparable records (no timing asserts)."""

import json

import pytest

from keras_muxnet import latency
from keras_muxnet._keras import keras
from keras_muxnet.cli import main
from muxnet_tiny import tiny_model

KEYS = {"model", "runtime", "quantize", "latency_ms_median", "params", "madds", "ratio_vs"}


def small_peer():
    return keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3),
                                               minimalistic=True, alpha=0.75)


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["tflite", "keras"])
def test_records_and_ratios(runtime, tmp_path):
    records = latency.benchmark([tiny_model()], vs=small_peer(), runtime=runtime, rounds=3,
                                  runs_per_round=2, log=lambda *_: None)
    assert [r.model for r in records] == ["muxnet_tiny", records[1].model]
    tiny, peer = records
    assert peer.ratio_vs == pytest.approx(1.0)
    assert tiny.ratio_vs == pytest.approx(tiny.latency_ms_median / peer.latency_ms_median)
    assert tiny.latency_ms_q1 <= tiny.latency_ms_median <= tiny.latency_ms_q3
    assert tiny.params > 0 and tiny.madds > 0 and tiny.params != peer.params
    path = latency.write_records(records, tmp_path / "bench.json")
    loaded = json.loads(open(path).read())
    assert len(loaded) == 2 and KEYS <= set(loaded[0]) and loaded[0]["runtime"] == runtime


def test_unknown_model_and_options():
    with pytest.raises(ValueError, match="unknown model 'ResNet9000'"):
        latency.build_model("ResNet9000")
    with pytest.raises(ValueError, match="runtime"):
        latency.benchmark(["m"], runtime="onnx")
    with pytest.raises(ValueError, match="int8"):
        latency.benchmark(["m"], quantize="int4")


def test_cli_rejects_unknown_model(capsys):
    assert main(["benchmark", "ResNet9000", "--rounds", "1"]) == 2
    assert "unknown model" in capsys.readouterr().err
