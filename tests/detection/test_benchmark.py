import pytest

from keras_muxnet.detection import SSDLite, benchmark


@pytest.mark.slow
def test_interleaved_records_with_ratios(tiny_backbone):
    a = SSDLite(tiny_backbone, num_classes=2, input_size=64, name="tiny_a")
    # One export keeps the test short: the detector against itself. fp32 only: LiteRT's XNNPACK
    # delegate can abort on untrained (random) int8 detectors.
    records = benchmark.benchmark([a], vs=a, quantize=(None,), rounds=3, runs_per_round=2,
                                  log=lambda *_: None)
    assert [(r.model, r.quantize, r.vs) for r in records] == [("tiny_a", "none", "tiny_a")]
    assert records[0].latency_ms_median > 0 and records[0].ratio_vs == 1.0
    assert records[0].params > 0 and records[0].madds > 0


def test_names_must_be_detectors():
    with pytest.raises(ValueError, match="detector names start with 'ssdlite_'"):
        benchmark.build_detector("muxnet_m")
