"""SSDLite to TFLite / LiteRT with TFLite's standard detection post-processing.

The flatbuffer holds the detector (its backbone through the same `export.rewrite.for_inference`
as the classifiers), the softmax over background + classes, and one
`TFLite_Detection_PostProcess` operator, which every TFLite runtime's builtin resolver carries
(it is the one custom operator allowed; everything else is a builtin). The operator decodes
the (ty, tx, th, tw) codes against our (cy, cx, h, w) anchors with scales (10, 10, 5, 5) and
runs class-wise NMS ("regular" NMS, `use_regular_nms`), the same as `postprocess`; it ignores
the first score column (background).
Input: float RGB in [0, 255], (1, size, size, 3). Outputs (the operator's order): boxes
(1, N, 4) normalized (y1, x1, y2, x2), classes (1, N) float, scores (1, N), count (1,).
`TFLiteDetector` runs a file and gives `predict`'s keras-hub dict (pixels, xyxy, clipped to the
image as `postprocess` clips them).
"""

import tempfile

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from keras_muxnet.detection import box_coding, postprocess
from keras_muxnet._files import check_writable, write_bytes
from keras_muxnet.export import ops, rewrite as rewrite_lib, runtime, tflite

POSTPROCESS_OP = "TFLite_Detection_PostProcess"
# How int8 calibration turns each activation's values on the representative images into its
# range: "average" (the default) averages every image's min and max, "min_max" takes the
# extremes over all images (TFLite's own choice; see `export.calibration.observed_ranges`).
INT8_RANGES = ("average", "min_max")


def _postprocess_attributes(num_classes, max_detections, iou_threshold, score_threshold):
    attrs = [f'name: "{POSTPROCESS_OP}"',
             f'attr {{ key: "max_detections" value {{ i: {max_detections} }} }}',
             'attr { key: "max_classes_per_detection" value { i: 1 } }',
             f'attr {{ key: "detections_per_class" value {{ i: {max_detections} }} }}',
             'attr { key: "use_regular_nms" value { b: true } }',
             f'attr {{ key: "nms_score_threshold" value {{ f: {score_threshold:f} }} }}',
             f'attr {{ key: "nms_iou_threshold" value {{ f: {iou_threshold:f} }} }}',
             f'attr {{ key: "num_classes" value {{ i: {num_classes} }} }}']
    for key, value in zip(("y_scale", "x_scale", "h_scale", "w_scale"), box_coding.SCALES):
        attrs.append(f'attr {{ key: "{key}" value {{ f: {value:f} }} }}')
    return " ".join(attrs)


def _detect_function(detector, core, max_detections, iou_threshold, score_threshold):
    @tf.function(experimental_implements=_postprocess_attributes(
        detector.num_classes, max_detections, iou_threshold, score_threshold))
    def detection_postprocess(box_encodings, class_predictions, anchors):
        # A placeholder body: the converter replaces this composite function by the operator.
        del box_encodings, class_predictions, anchors
        return (tf.constant(0.0, name="boxes"), tf.constant(0.0, name="classes"),
                tf.constant(0.0, name="scores"), tf.constant(0.0, name="num_detections"))

    anchors = tf.constant(detector.anchors)
    size = detector.input_size
    spec = tf.TensorSpec((1, size, size, 3), tf.float32)
    # Weights become constants first: the converter's SavedModel detour (needed to keep the
    # composite function for fusing) mishandles Keras 3 variables.
    frozen = convert_variables_to_constants_v2(
        tf.function(lambda x: core(x, training=False)).get_concrete_function(spec))

    @tf.function(input_signature=[spec])
    def detect(images):
        raw = tf.nest.flatten(frozen(images))[0]
        scores = tf.nn.softmax(raw[..., 4:], axis=-1)
        return detection_postprocess(raw[..., :4], scores, anchors)

    return detect


def convert(detector, quantize=None, representative_data=None, max_detections=postprocess.MAX_DETECTIONS,
            iou_threshold=postprocess.IOU_THRESHOLD, score_threshold=postprocess.SCORE_THRESHOLD,
            int8_ranges="average"):
    """The detector's TFLite flatbuffer as bytes (see `to_tflite`)."""
    tflite.check_quantize(quantize, representative_data, False)
    if int8_ranges not in INT8_RANGES:
        raise ValueError(f"int8_ranges must be one of {INT8_RANGES}, got {int8_ranges!r}")
    core, _ = rewrite_lib.for_inference(detector)
    detect = _detect_function(detector, core, max_detections, iou_threshold, score_threshold)
    with tempfile.TemporaryDirectory() as folder:
        # Through a SavedModel, as TF's object-detection export does: the converter fuses the
        # composite function into the operator only on that path.
        module = tf.Module()
        module.detect = detect
        tf.saved_model.save(module, folder, signatures={"serving_default": detect.get_concrete_function()},
                            options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        flatbuffer = _convert(converter, detector, quantize, representative_data, int8_ranges)
    others = [name for name in ops.custom_ops(flatbuffer) if name != POSTPROCESS_OP]
    if others:
        raise ValueError(f"the exported detector uses non-builtin operators {others}")
    if POSTPROCESS_OP not in ops.custom_ops(flatbuffer):
        raise ValueError(f"the converter did not fuse the {POSTPROCESS_OP} operator")
    return flatbuffer


def _convert(converter, detector, quantize, representative_data, int8_ranges):
    converter.allow_custom_ops = True  # for TFLite_Detection_PostProcess only, checked below
    # Integer kernels wherever they exist; the post-processing operator stays float.
    tflite.configure_quantization(converter, quantize, representative_data,
                                  (None, detector.input_size, detector.input_size, 3),
                                  float_fallback=True)
    # Averaged ranges: a few scenes with outlying activations (the stride-32 blocks reach
    # +-100-380) no longer stretch the int8 steps of all. The squeeze-and-excitation gates'
    # logits get ranges no wider than their sigmoid can use (`export.saturation`). Both measured
    # on the digit-scenes detector in `dev/int8_calibration.py`'s docstring.
    return tflite.run_converter(converter, quantize, narrow_saturated=True,
                                average_ranges=int8_ranges == "average")


def to_tflite(detector, path, quantize=None, representative_data=None, int8_ranges="average",
              **postprocess_options):
    """Export an SSDLite to a .tflite file at `path` (all-or-nothing); returns the path.

    quantize: None, "float16", "dynamic" or "int8" (needs `representative_data`, images
    (N, size, size, 3) in [0, 255]; `int8_ranges`: one of `INT8_RANGES`).
    `postprocess_options`: max_detections, iou_threshold, score_threshold (defaults those of
    `postprocess`).
    """
    check_writable(path)
    flatbuffer = convert(detector, quantize, representative_data, int8_ranges=int8_ranges,
                         **postprocess_options)
    return write_bytes(path, flatbuffer)


class TFLiteDetector:
    """Run an exported detector image by image; `predict` returns the keras-hub style dict."""

    def __init__(self, model, num_threads=1, xnnpack=True):
        if xnnpack:
            self.interpreter = runtime.make_interpreter(model, num_threads)
        else:
            # TFLite's reference kernels only. LiteRT 2.3's XNNPACK delegate aborts ("double
            # free") on some int8 detectors with degenerate (random, untrained) weights.
            from ai_edge_litert.interpreter import Interpreter, OpResolverType

            content = model if isinstance(model, (bytes, bytearray)) else open(model, "rb").read()
            self.interpreter = Interpreter(
                model_content=bytes(content), num_threads=num_threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        # The operator's outputs in its order (boxes, classes, scores, count): the converter
        # names them <signature>:0..3 but lists them in any order.
        self.outputs = sorted(self.interpreter.get_output_details(),
                              key=lambda o: int(o["name"].rsplit(":", 1)[-1]) if ":" in o["name"] else 0)
        self.size = int(self.input["shape"][1])

    def _invoke(self, image):
        self.interpreter.set_tensor(self.input["index"], np.asarray(image, np.float32)[None])
        self.interpreter.invoke()
        boxes, classes, scores, count = (self.interpreter.get_tensor(o["index"])
                                         for o in self.outputs)
        return boxes[0], classes[0], scores[0], int(count[0])

    def predict(self, images):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"images must be (N, {self.size}, {self.size}, 3), got {images.shape}")
        out = {"boxes": [], "confidence": [], "labels": [], "num_detections": []}
        for image in images:
            boxes, classes, scores, count = self._invoke(image)
            n = len(scores)
            valid = np.arange(n) < count
            pixels = np.clip(boxes[:, [1, 0, 3, 2]], 0.0, 1.0) * self.size
            out["boxes"].append(np.where(valid[:, None], pixels, 0))
            out["confidence"].append(np.where(valid, scores, 0))
            out["labels"].append(np.where(valid, classes.astype(np.int32), -1))
            out["num_detections"].append(count)
        return {key: np.stack(value) if key != "num_detections" else np.array(value, np.int32)
                for key, value in out.items()}
