"""The latency check predicts and measures real networks (figures are not asserted: timing)."""

import itertools

import pytest

from keras_muxnet.search import latency_check
from keras_muxnet.search.latency_table import INVOKE_KEY, LatencyTable, network_parts
from keras_muxnet.search.space import MUXNetHyperModel

TINY_SPACE = dict(input_shape=(16, 16, 3), classes=4, widths=(8, 8, 16, 16), stem_filters=8,
                  head_filters=16, scales=("0",))


def draw(hypermodel, count, seed):
    return list(itertools.islice(latency_check.random_specs(hypermodel, seed), count))


def test_random_candidates_are_seeded():
    hypermodel = MUXNetHyperModel(**TINY_SPACE)
    first = draw(hypermodel, 3, seed=5)
    assert [name for name, _ in first] == ["random_00", "random_01", "random_02"]
    assert [spec.stages for _, spec in first] == [spec.stages for _, spec in draw(hypermodel, 3, seed=5)]
    assert len({spec.stages for _, spec in first}) == 3
    assert latency_check.spearman([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)


@pytest.mark.slow
def test_check_reports_rank_correlation_and_errors(tmp_path):
    # The parts' figures are given (measuring them is test_latency_table's); the whole networks
    # are converted and timed for real.
    hypermodel = MUXNetHyperModel(**TINY_SPACE)
    table = LatencyTable(str(tmp_path / "table.json"), conditions={"machine": "here", "threads": 1,
                                                                    "quantize": None})
    specs = [spec for _, spec in draw(hypermodel, 2, seed=0)]
    for index, spec in enumerate(specs):
        for part in network_parts(spec, 16, classes=4):
            table.record(part.key, 0.01 * (index + 1), 1000)
    table.record(INVOKE_KEY, 0.001, 100)
    report = latency_check.check(table, hypermodel, archs=2, seed=0, variants=(), rounds=1,
                                 min_seconds=0.0, reference_parts=2, log=lambda *_: None)
    assert report["n_architectures"] == 2 and [r["name"] for r in report["rows"]] == ["random_00", "random_01"]
    assert -1.0 <= report["spearman"] <= 1.0 and report["median_abs_rel_error"] >= 0
    for row, spec in zip(report["rows"], specs):
        assert row["predicted_ms"] == pytest.approx(table.predict(spec, 16, classes=4)[0])
        assert row["measured_ms"] > 0 and row["params"] > 0 and row["parts"] == len(network_parts(spec, 16, 4))
        assert row["rel_error"] == pytest.approx(row["predicted_ms"] / row["measured_ms"] - 1)
    assert report["median_abs_rel_error"] == pytest.approx(
        sorted(abs(r["rel_error"]) for r in report["rows"])[0] / 2 + sorted(
            abs(r["rel_error"]) for r in report["rows"])[1] / 2)
    assert report["parts_measured"] == 0 and len(report["load_average_before"]) == 3
    # two of the table's parts re-timed now: their ratio to the (given) table figures scales
    assert report["n_reference_parts"] == 2 and report["parts_now_vs_table"] > 0
    assert report["median_abs_rel_error_at_current_speed"] >= 0


def test_check_needs_two_architectures(tmp_path):
    with pytest.raises(ValueError, match="at least 2 random architectures"):
        latency_check.check(LatencyTable(str(tmp_path / "t.json")), MUXNetHyperModel(**TINY_SPACE), archs=1)
