"""Model optimization with tensorflow-model-optimization: quantization-aware training, pruning.

tfmot works only with tf_keras (TF_USE_LEGACY_KERAS=1); under Keras 3 every entry point raises
`KerasModeError` saying so.
"""

from keras_muxnet.optimize._tfmot import KerasModeError
from keras_muxnet.optimize.pruning import kernel_sparsity, prune, pruning_callbacks, strip
from keras_muxnet.optimize.quantization import quantize_aware, quantize_config_for, quantize_scope

__all__ = ["KerasModeError", "kernel_sparsity", "prune", "pruning_callbacks", "quantize_aware",
           "quantize_config_for", "quantize_scope", "strip"]
