import pytest

from keras_muxnet.architectures import MUXNetSpec
from keras_muxnet.search.exact_latency import ExactLatency

SPEC = MUXNetSpec(name="tiny", stages=(("ds_k3_s1_c8_se0.25_nre",), ("ir_k3_s2_e3_c16_se0_nhs",
                                       "mux_r1_k3_e3_c16_se0_l0.5_x0_nhs")),
                  stem_filters=8, head_filters=16, published=False)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="float \\(None\\) or int8 models, not 'fp16'"):
        ExactLatency(quantize="fp16")
    with pytest.raises(ValueError, match="threads must be at least 1"):
        ExactLatency(threads=0)


@pytest.mark.slow
def test_each_candidate_is_timed_whole_once():
    exact = ExactLatency(rounds=2, min_runs=5, min_seconds=0.01)
    ms, parts = exact.predict(SPEC, 32, classes=4)
    assert ms > 0 and len(parts) == 1 and exact.measured == 1
    assert exact.predict(SPEC, 32, classes=4)[0] == ms and exact.measured == 1  # kept, not re-timed
    exact.predict(SPEC, 40, classes=4)
    assert exact.measured == 2
