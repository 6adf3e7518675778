import json

import pytest

from keras_muxnet.architectures import MUXNetSpec
from keras_muxnet.search.latency_table import (INVOKE_KEY, LatencyTable, block_key, measure_ms,
                                               check_prepares, network_parts, probe_parts)

SMALL = MUXNetSpec(name="latency_tiny", stages=(("ds_k3_s1_c8_se0.25_nre",), ("ir_k3_s2_e2_c8_se0_nre",)),
                   stem_filters=8, head_filters=16, published=False)


def table(path, **kwargs):
    return LatencyTable(str(path), rounds=1, min_runs=5, min_seconds=0.0, **kwargs)


@pytest.mark.slow
def test_parts_are_measured_once_stored_and_summed(tmp_path):
    path = tmp_path / "table.json"
    first = table(path)
    total, parts = first.predict(SMALL, 16, classes=4)
    # stem, two blocks, head, the empty model and the two streaming probes: each timed once
    probes = probe_parts(first.signature["l2_bytes"]) if first.signature["l2_bytes"] else []
    assert first.measured == 5 + len(probes) and len(parts) == 4 and INVOKE_KEY in first.entries
    if probes:  # the larger probe streams its weights from beyond L2: more time per byte
        small, large = (first.entries[p.key] for p in probes)
        assert large["bytes"] > 3.9 * first.signature["l2_bytes"] > 13 * small["bytes"]
        assert first.stream_ms_per_byte() >= 0
    invoke = first.entries[INVOKE_KEY]["ms"]
    assert all(ms > invoke > 0 for _, ms in parts)  # every part costs more than an empty model
    # one invocation paid; the network's weights fit in L2, so no streaming term
    assert total == pytest.approx(sum(ms for _, ms in parts) - 3 * invoke)
    # The shapes the prediction walks are the network's own: the ir block sees 8x8x8, the head 4x4x8.
    assert [key.split("|")[0] for key, _ in parts] == ["16x16x3", "8x8x8", "8x8x8", "4x4x8"]
    assert first.predict(SMALL, 16, classes=4)[0] == total  # lookups only now
    assert first.measured == 5 + len(probes)

    saved = json.loads(path.read_text())
    assert saved["signature"]["threads"] == 1 and saved["signature"]["machine"]
    assert saved["signature"]["litert"] and saved["signature"]["quantize"] is None
    assert saved["signature"]["timing"].startswith("min over rounds of q10")
    again = table(path, offline=True)  # read back: nothing to measure
    assert again.predict(SMALL, 16, classes=4)[0] == total and again.measured == 0
    with pytest.raises(KeyError, match=r"no entry '16x16x8\|ds_r1_k3.*offline"):
        again.block_ms((16, 16, 8), "ds_k3_s1_c8_se0.25_nre")


def test_a_table_from_another_runtime_is_refused(tmp_path):
    path = tmp_path / "table.json"
    here = table(path)
    here.record(block_key((8, 8, 8), "ds_k3_s1_c8_se0.25_nre"), 0.05, 2000)
    here.save()
    saved = json.loads(path.read_text())
    saved["signature"]["litert"] = "0.0.1"
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="other conditions.*litert: table '0.0.1'"):
        table(path)
    here.save()  # this runtime's table again: read back, but not with another thread count
    assert table(path).entries == here.entries
    with pytest.raises(ValueError, match="threads: table 1, here 2"):
        table(path, threads=2)


def test_timing_keeps_the_least_disturbed_runs():
    import time

    calls = []

    def run():  # every fifth call is "disturbed" (2 ms instead of ~0)
        calls.append(1)
        if len(calls) % 5 == 0:
            time.sleep(0.002)

    assert measure_ms(run, min_runs=50, min_seconds=0.0, warmup=0) < 1.0 and len(calls) == 50


def test_keys_name_shape_and_canonical_block():
    assert block_key((8, 8, 16), "ir_k3_s2_e4_c24_se0.75_nre") == "8x8x16|ir_r1_k3_s2_e4_c24_se0.75_nre"


def test_bad_tables_and_modes_are_named(tmp_path):
    with pytest.raises(ValueError, match="float \\(None\\) or int8"):
        LatencyTable("unused.json", quantize="fp16")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": 1, "entries": {}}))  # the first format: other timing
    with pytest.raises(ValueError, match="not a latency table of format 2"):
        LatencyTable(str(old))
    with pytest.raises(FileNotFoundError, match="no latency table at"):
        LatencyTable.recorded(str(tmp_path / "missing.json"))


def test_weights_beyond_l2_add_their_measured_streaming_cost(tmp_path):
    # Figures given as a device would report them: an L2 of 1 MB, probes of 0.25 MB and 4 MB.
    conditions = {"machine": "phone", "threads": 1, "quantize": None, "l2_bytes": 1_000_000}
    table = LatencyTable(str(tmp_path / "t.json"), conditions=conditions)
    small, large = probe_parts(1_000_000)
    assert small.key != large.key
    table.record(INVOKE_KEY, 0.001, 100)
    table.record(small.key, 0.001 + 250_000 * 1e-6, 250_000)  # 1e-6 ms per byte in L2
    table.record(large.key, 0.001 + 4_000_000 * 4e-6, 4_000_000)  # 4e-6 ms per byte beyond it
    assert table.stream_ms_per_byte() == pytest.approx(3e-6)
    parts = network_parts(SMALL, 16, classes=4)
    for part in parts:
        table.record(part.key, 0.01, 200_000)  # 0.8 MB of weights in all: they fit in L2
    assert table.predict(SMALL, 16, classes=4)[0] == pytest.approx(4 * 0.01 - 3 * 0.001)
    table.record(parts[-1].key, 0.05, 1_200_000)  # a head larger than L2: 1.8 MB in all
    # the three parts that fit in L2 (0.6 MB) now stream; the head already paid it when timed alone
    assert table.predict(SMALL, 16, classes=4)[0] == pytest.approx(
        3 * 0.01 + 0.05 - 3 * 0.001 + 600_000 * 3e-6)


def test_a_file_litert_cannot_run_is_caught_in_a_child_process():
    with pytest.raises(RuntimeError, match="LiteRT failed on the file in a child process"):
        check_prepares(b"not a flatbuffer", threads=1)
