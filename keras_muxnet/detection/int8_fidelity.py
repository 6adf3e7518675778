"""How close an int8 TFLite detector stays to its Keras original (issue 11: mAP@0.5 within 0.02).

`int8_scores` exports the detector to full-integer TFLite (`detection.export`, calibrated on
real scenes, with the export's default int8 ranges: averaged per scene, sigmoid gates clipped)
and scores its detections on held-out scenes exactly as `fitting.evaluate` scores Keras's.
Where the int8 error starts, tensor by tensor: `export.int8_drift`; the ranges compared over
several calibration sets: `dev/int8_calibration.py`.
"""

import numpy as np

from keras_muxnet.detection import export, fitting


def int8_scores(model, calibration_images, heldout, flatbuffer=None):
    """{"int8_map50", "int8_map", "int8_voc07_map50"}: the int8 TFLite detector (calibrated on
    `calibration_images`, run on TFLite's reference kernels) on `heldout` = (images, boxes,
    labels). `flatbuffer`: an int8 export of `model` made already."""
    if flatbuffer is None:
        flatbuffer = int8_flatbuffer(model, calibration_images)
    detections = export.TFLiteDetector(flatbuffer, xnnpack=False).predict(heldout[0])
    scores = fitting.score(detections, heldout[1], heldout[2], model.num_classes)
    return {f"int8_{key}": value for key, value in scores.items()}


def int8_flatbuffer(model, calibration_images):
    """The detector's full-integer TFLite file, calibrated on `calibration_images`."""
    calibration_images = np.asarray(calibration_images, np.float32)
    if calibration_images.ndim != 4 or len(calibration_images) == 0:
        raise ValueError(f"calibration images must be a non-empty (N, H, W, 3) array, got "
                         f"shape {calibration_images.shape}")
    return export.convert(model, quantize="int8", representative_data=calibration_images)
