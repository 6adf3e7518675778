"""Object detection on MUXNet: the paper's SSDLite (§5.3, Table 2) and its evaluation.

Modules, one concept each: `boxes` (geometry, conventions), `anchors`, `box_coding`, `targets`
(matching), `loss`, `backbones` (where the heads attach), `heads`, `model` (SSDLite),
`postprocess` (decoding, NMS), `evaluation` (VOC07 11-point AP, COCO AP), `voc` (VOCdevkit
reader, SSD augmentation), `digit_scenes` (a detection task from shipped images), `fitting`
(tf.data, fit, held-out mAP), `export` (TFLite with detection post-processing), `benchmark`
(exported detectors side by side), `drawing` (boxes on a picture). The demo's detection step
is `keras_muxnet.demo.detection`.
"""

import importlib

_EXPORTS = {"SSDLite": "keras_muxnet.detection.model", "SSDLoss": "keras_muxnet.detection.loss"}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_muxnet.detection' has no attribute {name!r}")
