"""The on-device route: part files and a benchmark_model script out, the device's results in."""

import json
import os
import stat
import subprocess

import pytest

from keras_muxnet.architectures import MUXNetSpec
from keras_muxnet.search import device_table
from keras_muxnet.search.latency_table import INVOKE_KEY, LatencyTable, network_parts

ONE_BLOCK = MUXNetSpec(name="device_tiny", stages=(("ds_k3_s1_c8_se0.25_nre",),), stem_filters=8,
                       head_filters=16, published=False)
# What TFLite's benchmark_model prints around its figures (abridged).
OUTPUT = """STARTING!
Graph: [{name}]
Use xnnpack: [1]
The input model file size (MB): 0.01
Inference timings in us: Init: 2101, First inference: 310, Warmup (avg): 122.5, Inference (avg): {us}
Memory footprint delta from the start of the tool (MB): init=1.2 overall=1.4
"""


def results_text(files, micros):
    return "".join(f"=== {name}\n" + OUTPUT.format(name=name, us=micros[name]) for name in files)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts")
    manifest = device_table.export_parts(str(folder), [ONE_BLOCK, ONE_BLOCK], 16, "Pixel 7",
                                         "benchmark_model 2.16", classes=4)
    return folder, manifest


def test_parts_are_written_once_with_manifest_and_script(exported):
    folder, manifest = exported
    keys = [part.key for part in network_parts(ONE_BLOCK, 16, classes=4)]
    assert sorted(manifest["files"].values()) == sorted([INVOKE_KEY, *keys])  # twice the spec, once each
    for name in manifest["files"]:
        with open(folder / name, "rb") as stream:
            assert stream.read(8)[4:8] == b"TFL3"  # a TFLite flatbuffer
    assert manifest["signature"]["machine"] == "Pixel 7" and manifest["signature"]["threads"] == 1
    script = (folder / device_table.SCRIPT).read_text()
    assert "--num_threads=1 --use_xnnpack=true" in script and all(n in script for n in manifest["files"])


def test_results_are_read_back_into_an_offline_table(exported, tmp_path):
    folder, manifest = exported
    micros = {name: 100.0 * (i + 1) for i, name in enumerate(manifest["files"])}
    results = tmp_path / "results.txt"
    results.write_text(results_text(manifest["files"], micros))
    table = device_table.read_results(str(folder), str(tmp_path / "phone.json"), results=str(results))
    expected = {key: micros[name] / 1e3 for name, key in manifest["files"].items()}
    assert {key: e["ms"] for key, e in table.entries.items()} == pytest.approx(expected)
    assert all(e["bytes"] == os.path.getsize(folder / name)
               for name, e in zip(manifest["files"], (table.entries[k] for k in manifest["files"].values())))

    again = LatencyTable.recorded(str(tmp_path / "phone.json"))
    assert again.offline and again.signature["machine"] == "Pixel 7"
    total, parts = again.predict(ONE_BLOCK, 16, classes=4)
    invoke = expected[INVOKE_KEY]
    assert total == pytest.approx(sum(expected[k] for k, _ in parts) - (len(parts) - 1) * invoke)
    with pytest.raises(KeyError, match="no entry.*offline"):
        again.predict(ONE_BLOCK, 32, classes=4)
    # This machine's own table cannot take the phone's figures, nor the phone's table new ones.
    with pytest.raises(ValueError, match="other conditions.*machine: table 'Pixel 7'"):
        LatencyTable(str(tmp_path / "phone.json"))


def test_a_part_without_result_is_named(exported, tmp_path):
    folder, manifest = exported
    files = list(manifest["files"])
    results = tmp_path / "results.txt"
    text = results_text(files[1:], {name: 50.0 for name in files})
    results.write_text(text + f"=== {files[0]}\nERROR: Failed to allocate tensors\n")
    with pytest.raises(ValueError, match=f"no 'Inference \\(avg\\)' for 1 part file.*{files[0]}"):
        device_table.read_results(str(folder), str(tmp_path / "phone.json"), results=str(results))
    assert not (tmp_path / "phone.json").exists()


def test_the_script_runs_every_file_and_its_output_reads_back(exported, tmp_path):
    # benchmark_model itself is not installable here: a stand-in prints its summary line, with
    # the file's size as the figure, so the script's loop and file names are what is checked.
    folder, manifest = exported
    tool = tmp_path / "benchmark_model"
    tool.write_text('#!/bin/sh\nf=${1#--graph=}\n'
                    'echo "Inference timings in us: Init: 1, First inference: 1, '
                    'Warmup (avg): 1, Inference (avg): $(wc -c < "$f")"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "results.txt"
    subprocess.run(["sh", device_table.SCRIPT, str(out)], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "BENCHMARK_MODEL": str(tool)})
    averages = device_table.parse_results(out.read_text())
    assert averages == {name: os.path.getsize(folder / name) / 1e3 for name in manifest["files"]}


def test_bad_device_input():
    with pytest.raises(ValueError, match="name the device and the runtime"):
        device_table.device_signature("", "2.16")
    with pytest.raises(ValueError, match="not a folder"):
        device_table.export_parts("/nonexistent/folder", [ONE_BLOCK], 16, "Pixel 7", "2.16")
