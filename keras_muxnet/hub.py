"""MUXNet as a keras-hub backbone (`pip install keras-muxnet[hub]`, Keras 3 only).

`MUXNetBackbone(variant="muxnet_m", image_shape=(None, None, 3))` is a
`keras_hub.models.FeaturePyramidBackbone`: a functional model from RGB in [0, 255] (with
`include_preprocessing=True`, the default) to the last feature map, whose `pyramid_outputs` is
`features.pyramid_outputs`' dict P1..P5, so keras-hub's task models (RetinaNet, DeepLabV3, ...)
take it as their image encoder. `expansion_output` is the stride-32 expansion map SSDLite uses.
Its config is its constructor arguments (a variant name or a MUXNetSpec as data), so it saves to
`.keras` and to presets (`save_to_preset` / `from_preset` with a local directory).
`weights` ("imagenet", a .weights.h5 path, a checkpoint) loads as for the classifier and is not
part of the config: a saved backbone carries its weights itself.
"""

import dataclasses

import keras_hub

from keras_muxnet import architectures, features, models
from keras_muxnet._keras import LEGACY_KERAS, register

if LEGACY_KERAS:
    raise ImportError("keras_muxnet.hub needs Keras 3 (keras-hub does not run on tf_keras); "
                      "unset TF_USE_LEGACY_KERAS")


def _spec(variant):
    if isinstance(variant, architectures.MUXNetSpec):
        return variant
    if isinstance(variant, dict):
        config = dict(variant)
        config["stages"] = tuple(tuple(stage) for stage in config["stages"])
        return architectures.MUXNetSpec(**config)
    return architectures.get_spec(variant)


@register
class MUXNetBackbone(keras_hub.models.FeaturePyramidBackbone):
    def __init__(self, variant="muxnet_m", image_shape=(None, None, 3), include_preprocessing=True,
                 weights=None, dtype=None, **kwargs):
        spec = _spec(variant)
        base = models.MUXNet(spec, include_top=False, weights=weights, input_shape=image_shape,
                             include_preprocessing=include_preprocessing)
        pyramid = features.pyramid_outputs(base, spec)
        expansion = None
        if max(int(key[1:]) for key in pyramid) == 5:
            expansion = base.get_layer(features.expansion_layer_name(spec)).output
        super().__init__(inputs=base.inputs, outputs=base.outputs[0], dtype=dtype,
                         **{"name": spec.name + "_backbone", **kwargs})
        self.variant = spec.name if spec is architectures.SPECS.get(spec.name) else spec
        self.image_shape = tuple(image_shape)
        self.include_preprocessing = include_preprocessing
        self.pyramid_outputs = pyramid
        self.expansion_output = expansion

    def get_config(self):
        config = super().get_config()
        variant = self.variant
        if isinstance(variant, architectures.MUXNetSpec):
            variant = dataclasses.asdict(variant)
        config.update(variant=variant, image_shape=self.image_shape,
                      include_preprocessing=self.include_preprocessing)
        return config
