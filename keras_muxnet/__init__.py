"""keras-muxnet: MUXNet (Lu, Deb, Boddeti; CVPR 2020) for Keras and TensorFlow.

The public names load on first use, so `keras-muxnet --help` does not wait for TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "MUXNet": "keras_muxnet.models",
    "MUXNetXS": "keras_muxnet.models",
    "MUXNetS": "keras_muxnet.models",
    "MUXNetM": "keras_muxnet.models",
    "MUXNetL": "keras_muxnet.models",
    "MUXNetSpec": "keras_muxnet.architectures",
    "get_spec": "keras_muxnet.architectures",
    "preprocess_input": "keras_muxnet.imagenet",
    "decode_predictions": "keras_muxnet.imagenet",
    "normalize_input": "keras_muxnet.imagenet",
    "profile": "keras_muxnet.profiler",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_muxnet' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
