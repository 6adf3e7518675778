"""`keras-muxnet export MODEL --format tflite|onnx --out PATH`: deploy a MUXNet."""

import os

from keras_muxnet._files import check_writable
from keras_muxnet.cli._options import add_quantize, quantize, weights as weights_argument


def register(subparsers):
    parser = subparsers.add_parser("export", help="export a MUXNet to TFLite / LiteRT or ONNX")
    parser.add_argument("model", help="a variant (muxnet_m, m, ...) or a saved .keras / .h5 model")
    parser.add_argument("--format", choices=("tflite", "onnx"), default="tflite")
    parser.add_argument("--out", required=True, help="file to write (.tflite or .onnx)")
    add_quantize(parser, help="TFLite quantization (default none: float32); TFLite only")
    parser.add_argument("--representative", metavar="NPY",
                        help="calibration images for --quantize int8: a .npy array (N, H, W, C) "
                             "in the model's input range")
    parser.add_argument("--int8-io", action="store_true", help="int8 input and output too")
    parser.add_argument("--weights", default="imagenet",
                        help="for a variant: imagenet, none, or a weights file")
    parser.add_argument("--size", type=int, default=224, help="input size for a variant")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset")
    parser.add_argument("--no-rewrite", action="store_true",
                        help="skip the export-time speed rewrite of grouped convolutions")
    parser.set_defaults(func=run)


def load_model(name, weights="imagenet", size=224):
    """A model from a saved file, or a MUXNet variant built at size x size."""
    if os.path.exists(name):
        from keras_muxnet import layers  # noqa: F401 - registers the custom layers
        from keras_muxnet._keras import keras

        return keras.models.load_model(name, compile=False)
    from keras_muxnet.models import MUXNet

    return MUXNet(name, weights=weights_argument(weights), input_shape=(size, size, 3))


def run(args):
    import numpy as np

    from keras_muxnet import export
    from keras_muxnet.export import ops
    from keras_muxnet.export.onnx import to_onnx

    if args.format == "onnx" and (quantize(args) is not None or args.representative):
        raise ValueError("--quantize and --representative apply to --format tflite only")
    if args.representative and not os.path.isfile(args.representative):
        raise FileNotFoundError(f"representative data {args.representative!r} not found")
    check_writable(args.out)
    model = load_model(args.model, args.weights, args.size)
    if args.format == "onnx":
        path = to_onnx(model, args.out, opset=args.opset, rewrite=not args.no_rewrite)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, ONNX opset {args.opset})")
        return 0
    data = np.load(args.representative) if args.representative else None
    path = export.to_tflite(model, args.out, quantize=quantize(args),
                            representative_data=data, int8_io=args.int8_io,
                            rewrite=not args.no_rewrite)
    counts = ops.op_counts(path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, {args.quantize}); builtin ops: "
          + ", ".join(f"{name} x{n}" for name, n in sorted(counts.items())))
    return 0
