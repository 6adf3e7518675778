"""`detection.int8_fidelity`: the int8 TFLite detector scored beside Keras on digit scenes."""

import numpy as np
import pytest

from keras_muxnet.detection import SSDLite, digit_scenes, fitting
from keras_muxnet.detection.int8_fidelity import int8_flatbuffer, int8_scores
from muxnet_tiny import randomize_batchnorm

SIZE = 96


@pytest.mark.slow
def test_int8_scores_are_keras_scores_of_the_int8_file(tiny_backbone):
    detector = randomize_batchnorm(SSDLite(tiny_backbone, num_classes=digit_scenes.NUM_CLASSES,
                                           input_size=SIZE), seed=3)
    train, heldout = digit_scenes.load_digit_scenes(4, 3, size=SIZE, seed=0)
    scores = int8_scores(detector, train[0], heldout)
    assert set(scores) == {"int8_map50", "int8_map", "int8_voc07_map50"}
    assert 0.0 <= scores["int8_map"] <= scores["int8_map50"] <= 1.0
    keras_scores = fitting.evaluate(detector, *heldout)
    assert set(keras_scores) >= {key[len("int8_"):] for key in scores}


def test_calibration_images_are_checked(tiny_backbone):
    detector = SSDLite(tiny_backbone, num_classes=2, input_size=SIZE)
    with pytest.raises(ValueError, match="non-empty"):
        int8_flatbuffer(detector, np.zeros((0, SIZE, SIZE, 3)))
