"""Utilities for testing keras-muxnet against the authors' PyTorch code (used by the tests and
the demo; not needed to use the models)."""

from keras_muxnet.testing.reference import (
    ModelReference,
    load_model_reference,
    regenerate_kernels,
    write_training_checkpoint,
)

__all__ = ["ModelReference", "load_model_reference", "regenerate_kernels",
           "write_training_checkpoint"]
