"""Shared detection fixtures: a tiny MUXNet that reaches stride 32 with an expansion, and a
small VOCdevkit-format folder written by the test."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_muxnet.architectures import MUXNetSpec

TINY_BACKBONE = MUXNetSpec(
    name="muxnet_tiny_detection",
    stages=(("ds_k3_s1_c8_se0.25_nre",),
            ("ir_k3_s2_e3_c8_se0.25_nre",),
            ("ir_k3.5_s2_e3_c16_se0.25", "mux_r1_k3_e3_c16_se0.25_l0.5"),
            ("ir_k3_s2_e3_c24_se0.25",),
            ("ir_k3_s2_e3_c32_se0.25",)),
    stem_filters=8, head_filters=64, published=False)


@pytest.fixture(scope="session")
def tiny_backbone():
    return TINY_BACKBONE


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
