"""The VOC reader and SSD augmentation on a small VOCdevkit-format fixture written here."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_muxnet.detection import SSDLite, voc

OBJECT = """<object><name>{name}</name><difficult>{difficult}</difficult>
<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"""


def _write(root, image_id, objects, size=(120, 90)):
    folder = os.path.join(root, "VOC2007")
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    pixels = np.random.default_rng(len(image_id)).integers(0, 255, (size[1], size[0], 3), np.uint8)
    Image.fromarray(pixels).save(os.path.join(folder, "JPEGImages", image_id + ".jpg"))
    body = "".join(OBJECT.format(**o) for o in objects)
    with open(os.path.join(folder, "Annotations", image_id + ".xml"), "w") as f:
        f.write(f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height>"
                f"<depth>3</depth></size>{body}</annotation>")
    with open(os.path.join(folder, "ImageSets", "Main", "trainval.txt"), "a") as f:
        f.write(image_id + "\n")


@pytest.fixture
def devkit(tmp_path):
    root = str(tmp_path)
    _write(root, "000001", [dict(name="dog", difficult=0, x1=11, y1=21, x2=60, y2=80),
                            dict(name="person", difficult=1, x1=70, y1=5, x2=120, y2=90)])
    _write(root, "000002", [dict(name="car", difficult=0, x1=1, y1=1, x2=40, y2=30)])
    _write(root, "000003", [])  # an image without objects
    return root


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
