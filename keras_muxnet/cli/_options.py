"""Options several commands share, spelled once: `--quantize` and `--weights`."""

from keras_muxnet.quantization_modes import QUANTIZE_MODES, from_cli, to_cli


def add_quantize(parser, modes=QUANTIZE_MODES, help=None):
    """`--quantize none|float16|dynamic|int8` (of `modes`), parsed to the Python mode (None, ...)."""
    parser.add_argument("--quantize", choices=[to_cli(m) for m in modes], default=to_cli(None),
                        help=help or "TFLite quantization (default none: float32)")


def quantize(args):
    """The Python spelling of the parsed `--quantize`."""
    return from_cli(args.quantize)


def weights(text):
    """`--weights none|imagenet|PATH` as the builders' `weights=` argument."""
    return None if text.lower() == "none" else text
