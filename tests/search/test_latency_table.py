import json

import pytest

from keras_muxnet.architectures import MUXNetSpec
from keras_muxnet.search.latency_table import LatencyTable, block_key

SMALL = MUXNetSpec(name="latency_tiny", stages=(("ds_k3_s1_c8_se0.25_nre",), ("ir_k3_s2_e2_c8_se0_nre",)),
                   stem_filters=8, head_filters=16, published=False)


def table(path, **kwargs):
    return LatencyTable(str(path), rounds=2, runs_per_round=3, **kwargs)


@pytest.mark.slow
def test_parts_are_measured_once_stored_and_summed(tmp_path):
    path = tmp_path / "table.json"
    first = table(path)
    total, parts = first.predict(SMALL, 16, classes=4)
    assert first.measured == 4 and len(parts) == 4  # stem, two blocks, head: each timed once
    assert all(ms > 0 for _, ms in parts) and total == pytest.approx(sum(ms for _, ms in parts))
    # The shapes the prediction walks are the network's own: the ir block sees 8x8x8, the head 4x4x8.
    assert [key.split("|")[0] for key, _ in parts] == ["16x16x3", "8x8x8", "8x8x8", "4x4x8"]
    assert first.predict(SMALL, 16, classes=4)[0] == total and first.measured == 4  # lookups only now

    saved = json.loads(path.read_text())
    assert saved["signature"]["threads"] == 1 and saved["signature"]["machine"]
    assert saved["signature"]["litert"] and saved["signature"]["quantize"] is None
    again = table(path, offline=True)  # read back: nothing to measure
    assert again.predict(SMALL, 16, classes=4)[0] == total and again.measured == 0
    with pytest.raises(KeyError, match=r"no entry '16x16x8\|ds_r1_k3.*offline"):
        again.block_ms((16, 16, 8), "ds_k3_s1_c8_se0.25_nre")


def test_a_table_from_another_runtime_is_refused(tmp_path):
    path = tmp_path / "table.json"
    here = table(path)
    here.entries[block_key((8, 8, 8), "ds_k3_s1_c8_se0.25_nre")] = 0.05
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


def test_keys_name_shape_and_canonical_block():
    assert block_key((8, 8, 16), "ir_k3_s2_e4_c24_se0.75_nre") == "8x8x16|ir_r1_k3_s2_e4_c24_se0.75_nre"
    with pytest.raises(ValueError, match="float \\(None\\) or int8"):
        LatencyTable("unused.json", quantize="fp16")
