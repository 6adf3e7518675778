"""training/voc_detection.py (the paper's VOC recipe) end to end on the small fixture."""

import importlib.util
import json
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _script():
    spec = importlib.util.spec_from_file_location(
        "voc_detection", os.path.join(REPO, "training", "voc_detection.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_annotations_is_a_clear_error(tmp_path):
    os.makedirs(tmp_path / "VOC2007" / "JPEGImages")
    with pytest.raises(FileNotFoundError, match="has no Annotations folder"):
        _script().main(["--voc-root", str(tmp_path), "--out", str(tmp_path / "run")])


@pytest.mark.slow
def test_one_epoch_writes_detector_and_result(devkit, tmp_path):
    # The fixture's images serve as trainval 2007+2012 and test 2007 alike.
    for year_split in (("VOC2007", "test"), ("VOC2012", "trainval")):
        folder = os.path.join(devkit, year_split[0])
        if year_split[0] == "VOC2012":
            os.symlink(os.path.join(devkit, "VOC2007"), folder)
        else:
            main_dir = os.path.join(folder, "ImageSets", "Main")
            with open(os.path.join(main_dir, "trainval.txt")) as f:
                ids = f.read()
            with open(os.path.join(main_dir, "test.txt"), "w") as f:
                f.write(ids)
    out = tmp_path / "run"
    _script().main(["--voc-root", devkit, "--out", str(out), "--backbone", "muxnet_xs",
                    "--image-size", "64", "--epochs", "1", "--batch-size", "2"])
    result = json.loads((out / "result.json").read_text())
    assert 0 <= result["voc07_map50"] <= 1 and result["epochs"] == 1
    assert (out / "detector.keras").is_file()
    assert (out / "checkpoint" / "last_good.weights.h5").is_file()
