"""Run a TFLite model with the LiteRT interpreter (`ai_edge_litert`), or TensorFlow's if absent.

`TFLiteModel` hides what differs between float and full-integer models: inputs are quantized
and outputs dequantized with the tensors' own scale and zero point, and the batch size follows
the input.
"""

import os

import numpy as np


def interpreter_class():
    """LiteRT's Interpreter; `tf.lite.Interpreter` (deprecated) only when LiteRT is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter


def make_interpreter(model, num_threads=1, preserve_all_tensors=False):
    """An Interpreter for a .tflite path or the model's bytes, tensors allocated.
    `preserve_all_tensors` keeps every intermediate tensor readable (TFLite's reference
    kernels then, no delegate: for comparing tensors, not for timing)."""
    Interpreter = interpreter_class()
    options = {"num_threads": num_threads}
    if preserve_all_tensors:
        import sys

        resolvers = sys.modules[Interpreter.__module__].OpResolverType
        options.update(experimental_preserve_all_tensors=True,
                       experimental_op_resolver_type=resolvers.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    if isinstance(model, (bytes, bytearray)):
        interpreter = Interpreter(model_content=bytes(model), **options)
    else:
        interpreter = Interpreter(model_path=os.fspath(model), **options)
    interpreter.allocate_tensors()
    return interpreter


def as_input(x, detail):
    """Float `x` as the input tensor `detail` takes it: quantized for integer inputs."""
    x = np.asarray(x)
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero_point = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        x = np.clip(np.round(x / scale + zero_point), info.min, info.max)
    return x.astype(detail["dtype"])


def dequantize(y, detail):
    """An output tensor's values as floats (integer tensors through their scale)."""
    scale, zero_point = detail["quantization"]
    if np.issubdtype(detail["dtype"], np.integer) and scale:
        return (y.astype(np.float32) - zero_point) * scale
    return y


class TFLiteModel:
    """A converted model as a callable on float numpy arrays: `TFLiteModel(path)(images)`."""

    def __init__(self, model, num_threads=1):
        self.interpreter = make_interpreter(model, num_threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def input_dtype(self):
        return self.input["dtype"]

    def _fit_batch(self, batch):
        if int(self.input["shape"][0]) != batch:
            self.interpreter.resize_tensor_input(self.input["index"],
                                                 [batch, *self.input["shape"][1:]])
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]

    def __call__(self, x):
        """Outputs for a batch `x` (float); integer I/O is (de)quantized here."""
        x = np.asarray(x)
        self._fit_batch(x.shape[0])
        self.interpreter.set_tensor(self.input["index"], as_input(x, self.input))
        self.interpreter.invoke()
        return dequantize(self.interpreter.get_tensor(self.output["index"]), self.output)

    def invoke(self):
        """One run on whatever the input tensor holds (for timing)."""
        self.interpreter.invoke()

    def ops(self):
        """The model's operator names, in execution order (see export.ops)."""
        return [op["op_name"] for op in self.interpreter._get_ops_details()]
