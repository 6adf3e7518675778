import pytest

from keras_muxnet.detection import SSDLite, benchmark


@pytest.mark.slow
def test_interleaved_records_with_ratios(tiny_backbone):
    a = SSDLite(tiny_backbone, num_classes=2, input_size=64, name="tiny_a")
    # One export keeps the test short: the detector against itself. fp32 only: LiteRT's XNNPACK
    # delegate can abort on untrained (random) int8 detectors.
    records = benchmark.benchmark([a], vs=a, quantize=(None,), rounds=3, runs_per_round=2,
                                  log=lambda *_: None)
    assert [(r.model, r.quantize, r.vs) for r in records] == [
        ("tiny_a", "none", "tiny_a"), ("tiny_a/network", "none", "tiny_a")]
    for record in records:  # each part against the same part of the reference
        assert record.latency_ms_median > 0 and record.ratio_vs == 1.0
        assert record.params > 0 and record.madds > 0


def test_parts_must_be_known():
    with pytest.raises(ValueError, match="parts must be a non-empty subset"):
        benchmark.benchmark(["ssdlite_muxnet_m"], parts=("backbone",))


def test_names_must_be_detectors():
    with pytest.raises(ValueError, match="detector names start with 'ssdlite_'"):
        benchmark.build_detector("muxnet_m")
