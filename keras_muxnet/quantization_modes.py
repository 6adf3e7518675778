"""The one spelling of TFLite quantization modes, shared by the export, the benchmark and the
command line (imports no TensorFlow, so `keras-muxnet --help` stays fast).

In Python a mode is `None` (float32), "float16" (float16 weights), "dynamic" (int8 weights,
float activations) or "int8" (full integer, needs representative data). The command line spells
`None` as "none"; `from_cli` / `to_cli` translate at that boundary only.
"""

QUANTIZE_MODES = (None, "float16", "dynamic", "int8")
CLI_NONE = "none"


def check_quantize(quantize, allowed=QUANTIZE_MODES):
    """Raise a clear error unless `quantize` is one of `allowed`."""
    if quantize not in allowed:
        raise ValueError(f"unknown quantize mode {quantize!r}; choose one of {allowed}")
    return quantize


def to_cli(quantize):
    return CLI_NONE if quantize is None else quantize


def from_cli(text):
    return None if text == CLI_NONE else text
