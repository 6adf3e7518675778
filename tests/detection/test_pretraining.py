"""Digit pretraining: crops of training digits, a classifier, its weights in the detector."""

import numpy as np
import pytest

from keras_muxnet import models
from keras_muxnet.detection import SSDLite, anchors, pretraining


def test_crops_hold_one_training_digit_each():
    images, labels = pretraining.digit_crops(12, crop=48, seed=3)
    assert images.shape == (12, 48, 48, 3) and images.dtype == np.uint8
    assert labels.shape == (12,) and set(labels) <= set(range(10))
    assert np.all(images.reshape(12, -1).std(axis=1) > 5)  # a digit on a photo, not a blank
    again, again_labels = pretraining.digit_crops(12, crop=48, seed=3)
    np.testing.assert_array_equal(again, images)           # fixed by the seed
    np.testing.assert_array_equal(again_labels, labels)


@pytest.mark.slow
def test_classifier_weights_go_into_the_backbone_only(tiny_backbone):
    images, labels = pretraining.digit_crops(16, crop=32, seed=0)
    classifier = pretraining.train_classifier(tiny_backbone, images, labels, epochs=1,
                                              batch_size=8)
    detector = SSDLite(tiny_backbone, num_classes=10, input_size=64, feature_layout="stride8",
                       anchor_layout=anchors.DIGIT_SCENES_STRIDE8)
    head = [w.copy() for w in detector.get_layer("ssd_class1_conv").get_weights()]
    copied = pretraining.copy_backbone_weights(classifier, detector)
    assert "stem_conv" in copied and not any(name.startswith("ssd_") for name in copied)
    for name in ("stem_conv", "block4a_expand_conv", "top_conv"):
        for ours, theirs in zip(detector.get_layer(name).get_weights(),
                                classifier.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    for ours, before in zip(detector.get_layer("ssd_class1_conv").get_weights(), head):
        np.testing.assert_array_equal(ours, before)


def test_mobilenet_v2_has_no_digit_classifier_here():
    detector = SSDLite("mobilenet_v2", num_classes=10, input_size=64)
    with pytest.raises(ValueError, match="digit pretraining builds MUXNet classifiers"):
        pretraining.pretrain_backbone(detector, 4, 1)
