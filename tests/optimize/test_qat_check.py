"""`optimize.qat_check` and `keras-muxnet optimize qat-check`: QAT int8 beside PTQ int8."""

import dataclasses
import json

import numpy as np
import pytest

from keras_muxnet._files import write_json
from keras_muxnet.cli import main
from keras_muxnet.optimize import qat_check
from muxnet_tiny import tiny_model


def test_cli_says_qat_check_needs_tf_keras(tmp_path, capsys):
    from keras_muxnet._keras import LEGACY_KERAS

    if LEGACY_KERAS:
        pytest.skip("the Keras 3 refusal")
    out = tmp_path / "qat.json"
    assert main(["optimize", "qat-check", "--json", str(out)]) == 2
    assert "TF_USE_LEGACY_KERAS=1" in capsys.readouterr().err and not out.exists()


def test_follows_measures_the_per_image_largest_difference():
    reference = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    got = np.array([[0.8, 0.2], [0.2, 0.8], [0.4, 0.6]])
    figures = qat_check.follows(got, reference)
    assert figures["max_prob_diff"] == pytest.approx(0.1)
    assert figures["median_prob_diff"] == pytest.approx(0.1)
    assert figures["top1_agreement"] == pytest.approx(2 / 3)  # the last one flips
    assert figures["share_over_tolerance"] == pytest.approx(2 / 3)  # 0.1 > 0.02; 0 on the 2nd


class _Logits:
    """A stand-in with `predict`: logits = f(x)."""

    def __init__(self, function):
        self.function = function

    def predict(self, x, verbose=0):
        return self.function(np.asarray(x))


def test_self_noise_moves_a_rounding_model_not_a_smooth_one():
    smooth = _Logits(lambda x: np.stack([x.sum(-1) / 500, np.zeros(len(x))], -1))
    # Pixel 2 sits on a rounding boundary (127.5 in 0..255, steps of 1): the noise (a hundredth
    # of a step) flips its rounding, and the first logit jumps by 10
    rounding = _Logits(lambda x: np.stack([10 * np.round(x[:, 2] - 127.0), np.zeros(len(x))], -1))
    x = np.tile(np.array([[0.0, 255.0, 127.5]], np.float32), (64, 1))
    for model, low, high in ((smooth, 0, 1e-3), (rounding, 0.4, 0.51)):
        reference = qat_check.softmax(model.predict(x))
        figures = qat_check.self_noise(model, x, reference)
        assert low <= figures["max_prob_diff"] <= high, figures


@pytest.mark.tf_keras_only
@pytest.mark.slow
def test_qat_check_of_a_tiny_model_on_digits(tmp_path):
    from keras_muxnet.training.digits import load_digits

    (x, y), (x_val, y_val) = load_digits(size=32)
    result = qat_check.check(tiny_model(), (x[:256], y[:256]), (x_val[:96], y_val[:96]),
                             epochs=1, qat_epochs=1, calibration=32, rounds=2, runs_per_round=2,
                             log=lambda *_: None)
    path = write_json(tmp_path / "qat.json", dataclasses.asdict(result))
    record = json.loads(path.read_text())
    assert set(record["latency_ms"]) == {"qat_int8", "ptq_int8"}
    assert all(ms > 0 for ms in record["latency_ms"].values())
    assert record["qat_over_ptq_latency"] == pytest.approx(
        record["latency_ms"]["qat_int8"] / record["latency_ms"]["ptq_int8"])
    assert record["held_out"] == 96 and record["calibration"] == 32
    # Both files on XNNPACK's fast operators only. The QAT file has the PTQ file's operators
    # (no pair swap by REVERSE_V2, no shuffle by TRANSPOSE, no tile kernel RESHAPEd at run
    # time) but for the stem (the input normalization as a 1x1 depthwise conv, no constant
    # image added), the mixed-kernel conv's BatchNorm (folded into its tiles, where the PTQ
    # file keeps a MUL and an ADD). No requantization either: each mux block's input, residual
    # Add and concatenation share one range (`qat_shared_ranges`), as in the PTQ file.
    assert record["xnnpack_slow_ops"] == {"qat_int8": [], "ptq_int8": []}
    qat_ops, ptq_ops = record["op_counts"]["qat_int8"], record["op_counts"]["ptq_int8"]
    assert set(qat_ops) == set(ptq_ops), (qat_ops, ptq_ops)
    for name in ("TRANSPOSE", "RESHAPE", "CONCATENATION", "LOGISTIC", "CONV_2D",
                 "STRIDED_SLICE", "PAD", "QUANTIZE"):
        assert qat_ops.get(name) == ptq_ops.get(name), (name, qat_ops, ptq_ops)
    assert qat_ops["DEPTHWISE_CONV_2D"] == ptq_ops["DEPTHWISE_CONV_2D"] + 1
    assert qat_ops["MUL"] == ptq_ops["MUL"] - 1
    assert qat_ops["ADD"] == ptq_ops["ADD"] - 2
    noisy = record["qat_model_vs_itself_noisy"]
    assert 0 <= noisy["median_prob_diff"] <= noisy["max_prob_diff"] <= 1
    follow = record["qat_int8_vs_qat_model"]
    assert 0 <= follow["median_prob_diff"] <= follow["max_prob_diff"] <= 1
    assert follow["median_prob_diff"] < 0.05 and follow["top1_agreement"] >= 0.8
    for share in (*record["top1_agreement_with_float"].values(), *record["accuracy"].values()):
        assert 0 <= share <= 1
    assert record["top1_agreement_with_float"]["ptq_int8"] >= 0.8
    assert "QAT/PTQ" in qat_check.format_check(result)
