"""`export.saturation`: a sigmoid gate's logits clipped to where int8 LOGISTIC still changes."""

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet._keras import keras
from keras_muxnet.export import calibration, saturation


def _gated_flatbuffer():
    """A float file with a gate (conv -> sigmoid -> multiply) and a swish (x * sigmoid(x))."""
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(4, 1, name="features")(inputs)
    swish = keras.layers.Activation("swish", name="swish")(features)
    logits = keras.layers.Conv2D(4, 1, name="gate_logits")(
        keras.layers.GlobalAveragePooling2D(keepdims=True)(swish))
    gate = keras.layers.Activation("sigmoid", name="gate")(logits)
    model = keras.Model(inputs, keras.layers.Multiply()([swish, gate]))
    function = tf.function(lambda x: model(x, training=False),
                           input_signature=[tf.TensorSpec((1, 8, 8, 3), tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], model)
    return converter.convert()


def test_only_tensors_read_by_sigmoids_alone_are_clipped():
    model = calibration._model_object(_gated_flatbuffer())
    tensors = model.subgraphs[0].tensors
    gates = saturation.gate_inputs(model)
    # The gate's logits, not the swish's input (a MUL reads it too).
    assert [b"gate_logits" in tensors[i].name for i in gates] == [True]
    gate = gates[0]
    ranges = {gate: (-40.0, 3.0), gate + 100: (-40.0, 3.0)}
    clipped, changed = saturation.narrowed(model, ranges)
    assert changed == [gate]
    assert clipped == {gate: (-saturation.GATE_BOUND, 3.0), gate + 100: (-40.0, 3.0)}
    assert saturation.narrowed(model, {gate: (-2.0, 3.0)}) == ({gate: (-2.0, 3.0)}, [])
    with pytest.raises(ValueError, match="ln\\(511\\)"):
        saturation.narrowed(model, ranges, bound=4.0)
