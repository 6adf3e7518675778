import pytest

from keras_muxnet.search import mobilenet_ladder as ladder


def test_peers_are_parsed_or_the_problem_named():
    assert ladder.parse_peer("MobileNetV3Large") == ladder.Peer("MobileNetV3Large", 1.0)
    assert ladder.parse_peer("mobilenetv3small:0.75").name == "MobileNetV3Small:0.75"
    assert [p.name for p in ladder.parse_ladder(ladder.LADDER)] == list(ladder.LADDER)
    assert len(ladder.parse_ladder("MobileNetV3Small,MobileNetV3Small:1")) == 1
    with pytest.raises(ValueError, match="cannot build 'ResNet50' as a peer: the ladder has MobileNetV3Small"):
        ladder.parse_peer("ResNet50")
    with pytest.raises(ValueError, match="width of peer 'MobileNetV3Small:wide' is not a number"):
        ladder.parse_peer("MobileNetV3Small:wide")
    with pytest.raises(ValueError, match=r"must be in \(0, 2\]"):
        ladder.parse_peer("MobileNetV3Large:0")
    with pytest.raises(ValueError, match="at least one peer"):
        ladder.parse_ladder(" , ")
    with pytest.raises(ValueError, match="MobileNetV3Small needs an input of at least 32x32, got 16x16"):
        ladder.parse_peer("MobileNetV3Small").build((16, 16, 3), 10)


def test_dominated_needs_accuracy_at_least_and_latency_at_most():
    peer = {"val_accuracy": 0.9, "latency_ms": 1.0}
    candidates = [{"trial_id": "a", "val_accuracy": 0.95, "latency_ms_measured": 0.8},
                  {"trial_id": "b", "val_accuracy": 0.9, "latency_ms_measured": 1.0},   # ties count
                  {"trial_id": "c", "val_accuracy": 0.99, "latency_ms_measured": 1.2},  # slower
                  {"trial_id": "d", "val_accuracy": 0.89, "latency_ms_measured": 0.1},  # less accurate
                  {"trial_id": "e", "val_accuracy": 0.99, "latency_ms_measured": None}]
    beating = ladder.dominated(peer, candidates, latency="latency_ms_measured")
    assert [c["trial_id"] for c in beating] == ["a", "b"]


@pytest.mark.slow
def test_a_peer_is_built_at_the_search_size_and_timed_whole():
    peer = ladder.parse_peer("MobileNetV3Small:0.5")
    model = peer.build((32, 32, 3), 10)
    assert tuple(model.input_shape[1:]) == (32, 32, 3) and tuple(model.output_shape[1:]) == (10,)
    times, conditions = ladder.time_exactly({peer.name: lambda: model}, rounds=2, min_seconds=0.01)
    assert times[peer.name] > 0 and conditions["threads"] == 1 and conditions["quantize"] is None
