"""Deployment: TFLite / LiteRT and ONNX export, and the runtime to check them against Keras."""

from keras_muxnet.export.agreement import Comparison, compare
from keras_muxnet.export.onnx import to_onnx
from keras_muxnet.export.ops import (SlowOpsWarning, check_builtin_only, custom_ops, op_counts,
                                     xnnpack_slow_ops)
from keras_muxnet.export.rewrite import for_inference
from keras_muxnet.export.runtime import TFLiteModel, make_interpreter
from keras_muxnet.export.tflite import to_tflite
from keras_muxnet.quantization_modes import QUANTIZE_MODES

__all__ = ["QUANTIZE_MODES", "Comparison", "SlowOpsWarning", "TFLiteModel", "check_builtin_only",
           "compare", "custom_ops", "for_inference", "make_interpreter", "op_counts", "to_onnx",
           "to_tflite", "xnnpack_slow_ops"]
