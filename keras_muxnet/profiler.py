"""Count a model's parameters and multiply-adds the way the paper does.

"Parameters" are what PyTorch counts as `requires_grad`: every weight, BatchNorm's scale and
offset included, its moving statistics (and the input normalization's constants) excluded.
Keras' `count_params()` is reported beside it. "Multiply-adds" are those of convolutions and
dense layers at the model's input size, the count behind the paper's MAdds figures.
"""

import dataclasses
from typing import List, Optional, Tuple

from keras_muxnet._keras import keras

layers = keras.layers


@dataclasses.dataclass
class LayerProfile:
    name: str
    kind: str
    output_shape: Tuple
    params: int
    madds: int


@dataclasses.dataclass
class Profile:
    """`params` and `madds` of one model at one input size, with per-layer rows on request."""

    model: str
    input_shape: Tuple
    params: int
    madds: int
    keras_params: int
    layers: Optional[List[LayerProfile]] = None

    def __str__(self):
        return (f"{self.model} at {self.input_shape[0]}x{self.input_shape[1]}: "
                f"{self.params:,} parameters ({self.keras_params:,} in Keras' count_params, "
                f"which adds BatchNorm moving statistics and input normalization constants), {self.madds:,} multiply-adds")

    def table(self):
        """Per-layer rows as text (needs profile(..., detail=True))."""
        if self.layers is None:
            raise ValueError("per-layer rows need profile(model, detail=True)")
        lines = [f"{'layer':40s} {'type':22s} {'output':>18s} {'params':>10s} {'madds':>13s}"]
        for row in self.layers:
            shape = "x".join(str(d) for d in row.output_shape)
            lines.append(f"{row.name:40s} {row.kind:22s} {shape:>18s} {row.params:>10,d} {row.madds:>13,d}")
        lines.append(f"{'total':40s} {'':22s} {'':>18s} {self.params:>10,d} {self.madds:>13,d}")
        return "\n".join(lines)


def _size(weights):
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def layer_params(layer):
    """Trainable-by-design parameters of one layer (BN scale/offset, not its statistics)."""
    if isinstance(layer, layers.BatchNormalization):
        return _size([w for w in (layer.gamma, layer.beta) if w is not None])
    if isinstance(layer, layers.Normalization):
        return 0
    return _size(layer.weights)


def layer_madds(layer, input_shape, output_shape):
    """Multiply-adds of one example through a convolution or dense layer, else 0."""
    if hasattr(layer, "multiply_adds"):
        return int(layer.multiply_adds(tuple(input_shape[1:])))
    spatial = 1
    for d in output_shape[1:-1]:
        spatial *= int(d)
    if isinstance(layer, layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return spatial * int(output_shape[-1]) * kh * kw
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        return spatial * int(output_shape[-1]) * kh * kw * int(input_shape[-1]) // layer.groups
    if isinstance(layer, layers.Dense):
        return spatial * int(output_shape[-1]) * int(input_shape[-1])
    return 0


def _at_size(model, input_shape):
    """The model itself if its input is static, else a clone fixed at `input_shape`."""
    static = tuple(model.inputs[0].shape[1:])
    if input_shape is None:
        if None in static:
            raise ValueError(f"{model.name} takes inputs of any size {static}; "
                             f"pass input_shape=(height, width, channels) to profile it")
        return model, static
    input_shape = tuple(input_shape)
    if len(input_shape) == 2:
        input_shape += (static[-1],)
    if input_shape == static:
        return model, static
    clone = keras.models.clone_model(model, input_tensors=keras.Input(shape=input_shape))
    return clone, input_shape


def profile(model, input_shape=None, detail=False):
    """Parameters and conv+dense multiply-adds of `model` (at `input_shape` if given).

    Returns a `Profile` with integer `params` and `madds`; `detail=True` adds per-layer rows
    (`Profile.layers`, `Profile.table()`).
    """
    sized, shape = _at_size(model, input_shape)
    rows = []
    for layer in sized.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = layer.input if not isinstance(layer.input, (list, tuple)) else layer.input[0]
        outputs = layer.output if not isinstance(layer.output, (list, tuple)) else layer.output[0]
        rows.append(LayerProfile(
            name=layer.name, kind=type(layer).__name__,
            output_shape=tuple(outputs.shape[1:]),
            params=layer_params(layer),
            madds=layer_madds(layer, tuple(inputs.shape), tuple(outputs.shape))))
    return Profile(model=model.name, input_shape=shape,
                   params=sum(r.params for r in rows), madds=sum(r.madds for r in rows),
                   keras_params=int(model.count_params()), layers=rows if detail else None)
