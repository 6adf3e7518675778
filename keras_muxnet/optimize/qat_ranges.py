"""Seed a fresh QAT model's activation ranges from a calibration pass, as PTQ sets them.

tfmot starts every moving-average range at [-6, 6] and moves it by 0.1% a step: after a short
fine-tune (one epoch of the digits is 45 steps) the ranges are still about [-6, 6], so a tensor
of values near 0.05 (a squeeze-excitation mean) gets one or two int8 steps and a tensor up to 20
(logits, a late swish) is clipped at 6. The int8 file follows those ranges, and the rounding
they cause grows through the network. Set from the float activations on a few hundred images
(the minimum and maximum, 0 included, as TFLite's calibration does), the fine-tune starts where
PTQ would be and its moving averages only refine them.
"""

import numpy as np

from keras_muxnet._keras import keras, variable_short_name

# The range variables of tfmot's quantizers that stand for a layer's output: the output
# quantizer's, or the one after the layer's own (linear / ReLU) activation; and the input
# QuantizeLayer's.
_OUTPUT_RANGES = ("output", "post_activation", "quantize_layer")


def observed_ranges(model, images, batch_size=32):
    """{layer name: (min, max)} of every single-output layer's output (and of each model input
    under its InputLayer's name) over `images`, 0 included."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"calibration images must be a non-empty (N, H, W, C) array, got shape "
                         f"{images.shape}")
    watched = [layer for layer in model.layers
               if not isinstance(layer.output, (list, tuple))]
    probe = keras.Model(model.inputs, [layer.output for layer in watched])
    low = {layer.name: 0.0 for layer in watched}
    high = dict(low)
    for start in range(0, len(images), batch_size):
        outputs = probe(images[start:start + batch_size], training=False)
        for layer, value in zip(watched, outputs):
            value = np.asarray(value)
            low[layer.name] = min(low[layer.name], float(value.min()))
            high[layer.name] = max(high[layer.name], float(value.max()))
    return {name: (low[name], high[name]) for name in low}


def seed_ranges(qat_model, ranges, kinds=_OUTPUT_RANGES):
    """Set the output range variables of `qat_model`'s quantize wrappers (and its input
    QuantizeLayer) to `ranges` = {wrapped layer name: (min, max)}; returns how many layers got
    theirs. Layers without a recorded range keep tfmot's. `kinds` names the variables
    (tfmot's prefixes); ("pre_activation", ...) reaches the logits in front of a softmax."""
    input_names = [t._keras_history[0].name for t in qat_model.inputs]
    seeded = 0
    for wrapper in qat_model.layers:
        inner = getattr(wrapper, "layer", None)
        if inner is not None:
            name = inner.name
        elif type(wrapper).__name__ == "QuantizeLayer" and len(input_names) == 1:
            name = input_names[0]
        else:
            continue
        if name not in ranges:
            continue
        low, high = ranges[name]
        touched = False
        for variable in wrapper.weights:
            short = variable_short_name(variable)
            for prefix in kinds:
                if short == f"{prefix}_min":
                    variable.assign(np.float32(low))
                    touched = True
                elif short == f"{prefix}_max":
                    variable.assign(np.float32(max(high, low + 1e-6)))
                    touched = True
        seeded += touched
    return seeded
