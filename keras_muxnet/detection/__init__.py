"""Object detection on MUXNet: the paper's SSDLite (§5.3, Table 2) and its evaluation.

Modules, one concept each: `boxes` (geometry, conventions), `anchors`, `box_coding`, `targets`
(matching), `loss`, `backbones` (where the heads attach), `heads`, `model` (SSDLite),
`postprocess` (decoding, NMS), `evaluation` (VOC07 11-point AP, COCO AP).
"""

import importlib

_EXPORTS = {"SSDLite": "keras_muxnet.detection.model", "SSDLoss": "keras_muxnet.detection.loss"}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_muxnet.detection' has no attribute {name!r}")
