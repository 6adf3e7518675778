"""decode_predictions and the ImageNet class names shipped with the package."""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from keras_muxnet.imagenet import decode_predictions, imagenet_classes

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_class_list_is_the_1000_imagenet_synsets_in_label_order():
    classes = imagenet_classes()
    wnids = [wnid for wnid, _ in classes]
    assert len(set(wnids)) == 1000 and wnids == sorted(wnids)
    assert all(w.startswith("n") and len(w) == 9 for w in wnids)
    assert classes[0] == ("n01440764", "tench")
    assert classes[2] == ("n01484850", "great_white_shark")
    assert classes[948] == ("n07742313", "Granny_Smith")
    assert classes[999] == ("n15075141", "toilet_tissue")


def test_decode_predictions_keras_applications_style():
    preds = np.zeros((2, 1000), "float32")
    preds[0, [948, 2, 0]] = [0.7, 0.2, 0.1]
    preds[1, 999] = 1.0
    decoded = decode_predictions(preds, top=3)
    assert [d[:2] for d in decoded[0]] == [("n07742313", "Granny_Smith"),
                                          ("n01484850", "great_white_shark"),
                                          ("n01440764", "tench")]
    assert [float(d[2]) for d in decoded[0]] == pytest.approx([0.7, 0.2, 0.1])
    assert decoded[1][0][:2] == ("n15075141", "toilet_tissue")
    assert len(decode_predictions(preds)[0]) == 5


@pytest.mark.parametrize("shape", [(1000,), (2, 10), (1, 1000, 1)])
def test_decode_predictions_needs_a_batch_of_1000_scores(shape):
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        decode_predictions(np.zeros(shape))


def test_shipped_file_is_what_the_generator_makes():
    """Regenerated from timm's lists, when timm is at hand (only needed to generate)."""
    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed; the generator needs its data files")
    result = subprocess.run([sys.executable, str(REPO / "weights" / "make_imagenet_classes.py"),
                             "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
