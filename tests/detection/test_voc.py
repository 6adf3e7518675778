"""The VOC reader and SSD augmentation on a small VOCdevkit-format fixture written here."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet.detection import SSDLite, voc

def test_reader_converts_boxes_and_keeps_difficult_flags(devkit):
    records = voc.load_records(devkit, sets=(("2007", "trainval"),))
    assert [os.path.basename(p) for p, _ in records] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    first = records[0][1]
    np.testing.assert_array_equal(first["boxes"], [[10, 20, 60, 80], [69, 4, 120, 90]])
    assert first["labels"].tolist() == [voc.CLASSES.index("dog"), voc.CLASSES.index("person")]
    assert first["difficult"].tolist() == [False, True]
    assert records[2][1]["boxes"].shape == (0, 4)


def test_bad_folders_and_files_are_named(devkit, tmp_path):
    with pytest.raises(FileNotFoundError, match="has no Annotations folder"):
        os.makedirs(tmp_path / "empty" / "VOC2007" / "JPEGImages")
        voc.load_records(str(tmp_path / "empty"), sets=(("2007", "trainval"),))
    bad = os.path.join(devkit, "VOC2007", "Annotations", "000002.xml")
    with open(bad, "w") as f:
        f.write("<annotation><size><width>10</width>")
    with pytest.raises(ValueError, match="malformed VOC annotation .*000002.xml"):
        voc.load_records(devkit, sets=(("2007", "trainval"),))


def test_augmentation_keeps_boxes_valid():
    image = tf.random.uniform((90, 120, 3), 0, 255)
    boxes = tf.constant([[10, 20, 60, 80], [69, 4, 120, 90]], tf.float32)
    labels = tf.constant([3, 7])
    sizes = set()
    for s in range(20):
        out, out_boxes, out_labels = voc.augment(image, boxes, labels, [s, 1])
        h, w = out.shape[:2]
        sizes.add((h, w))
        b = out_boxes.numpy()
        assert len(b) == len(out_labels) and set(out_labels.numpy()) <= {3, 7}
        assert np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])
        assert np.all(b >= 0) and np.all(b[:, [0, 2]] <= w) and np.all(b[:, [1, 3]] <= h)
        assert 0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 255
    assert len(sizes) > 3  # crops and expansions happened


@pytest.mark.slow
def test_dataset_batches_for_fit(devkit, tiny_backbone):
    model = SSDLite(tiny_backbone, num_classes=len(voc.CLASSES), input_size=64)
    records = voc.load_records(devkit, sets=(("2007", "trainval"),))
    for training in (False, True):
        batches = list(voc.to_dataset(records, model, batch_size=3, training=training))
        images, targets = batches[0]
        assert images.shape == (3, 64, 64, 3) and targets.shape == (3, len(model.anchors), 5)
        assert np.all(np.isfinite(targets.numpy()))
    plain = next(iter(voc.to_dataset(records, model, batch_size=3)))[1].numpy()
    assert (plain[0, :, 4] > 0).any() and not (plain[2, :, 4] > 0).any()  # 3rd image: no objects
