"""Activations the block grammar names that a Keras mode lacks: hard-swish under tf_keras.

Keras 3 knows `Activation("hard_swish")` (its hard_silu, x * relu6(x + 3) / 6); tf_keras does
not, so the same function is registered there under the same name. Blocks then ask for it by
name in both modes, and the TFLite converter sees the same relu6-times-x pattern either way.
"""

from keras_muxnet._keras import LEGACY_KERAS, keras


def hard_swish(x):
    """x * relu6(x + 3) / 6: MobileNetV3's piecewise-linear swish."""
    return x * keras.activations.relu(x + 3.0, max_value=6.0) * (1.0 / 6.0)


if LEGACY_KERAS:
    keras.utils.get_custom_objects().setdefault("hard_swish", hard_swish)
