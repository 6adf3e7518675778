"""SSDLite (MobileNetV2 §6.2, MUXNet §5.3) on a MUXNet or MobileNetV2 backbone.

`SSDLite(backbone="muxnet_m", num_classes=20, input_size=300)` is a functional Keras model from
RGB images in [0, 255] (input_size x input_size) to raw predictions (B, A, 4 + 1 + classes);
`anchor_layout` (default: the paper's, `anchors.PAPER`) sets the anchors' scales and ratios;
`feature_layout` (default "paper": heads at stride 16 and 32 plus four extra layers, six maps)
can be "stride8", which adds a head at stride 8 in front (seven maps; for small objects), or
"stride8_top_down", the same with the stride-16 map added into the stride-8 one, or
"stride8_fpn", a top-down pyramid from stride 32 (digit scenes use it, with
`anchors.DIGIT_SCENES_STRIDE8`); see
`backbones`, `heads`, `anchors`, `box_coding`, `targets`, `loss` and `postprocess` for every
choice. On top of a plain model it knows its anchors and:
- `compile()` defaults to the SSD loss (`loss.SSDLoss`);
- `encode_sample(image, boxes, labels)` turns one example (pixel xyxy boxes) into
  (resized image, targets) for `fit`, in a tf.data map;
- `predict(images)` takes uint8 (or float) RGB at input_size and returns keras-hub's dict of
  detections (see `postprocess`); calling the model gives the raw predictions.
It saves to and loads from `.keras` (its config is its constructor arguments).
"""

import tensorflow as tf

from keras_muxnet._keras import keras, register, require_tensorflow
from keras_muxnet.detection import anchors as anchors_lib, backbones, heads, postprocess, targets
from keras_muxnet.detection.loss import SSDLoss

MIN_INPUT_SIZE = 64


def check_arguments(backbone, num_classes, input_size):
    backbone = backbones.canonical(backbone)
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer (background excluded), "
                         f"got {num_classes!r}")
    if not isinstance(input_size, int) or input_size < MIN_INPUT_SIZE or input_size % 2:
        raise ValueError(f"input_size must be an even integer of at least {MIN_INPUT_SIZE} (six "
                         f"maps from stride 16 down by 2), got {input_size!r}")
    return backbone


@register
class SSDLite(keras.Model):
    def __init__(self, backbone="muxnet_m", num_classes=20, input_size=300,
                 backbone_weights=None, anchor_layout=None, feature_layout="paper", name=None,
                 **kwargs):
        require_tensorflow("SSDLite detection (its box decoding and NMS are TensorFlow ops)")
        backbone = check_arguments(backbone, num_classes, input_size)
        anchor_layout = anchors_lib.check_layout(anchor_layout)
        inputs, taps = backbones.build(backbone, input_size, backbone_weights, feature_layout)
        if feature_layout == "stride8_top_down":
            taps = [heads.top_down(taps[0], taps[1])] + taps[1:]
        elif feature_layout == "stride8_fpn":
            taps = heads.pyramid(taps)
        maps = taps + heads.extra_layers(taps[-1])
        per_cell = anchors_lib.anchors_per_cell(len(maps), **anchor_layout)
        outputs = heads.predictions(maps, per_cell, num_classes)
        label = backbone.name if isinstance(backbone, backbones.architectures.MUXNetSpec) else backbone
        super().__init__(inputs, outputs, name=name or f"ssdlite_{label}", **kwargs)
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.input_size = input_size
        self.feature_map_sizes = [tuple(int(d) for d in m.shape[1:3]) for m in maps]
        self.anchor_layout = anchor_layout
        self.feature_layout = feature_layout
        self.anchors = anchors_lib.generate(self.feature_map_sizes, **anchor_layout)
        if int(outputs.shape[1]) != len(self.anchors):
            raise ValueError(f"input_size {input_size}: the heads give {outputs.shape[1]} "
                             f"predictions for {len(self.anchors)} anchors")

    def get_config(self):
        backbone = self.backbone_name
        if isinstance(backbone, backbones.architectures.MUXNetSpec):
            backbone = {"muxnet_spec": backbones.spec_to_config(backbone)}
        layout = {k: list(v) if isinstance(v, tuple) else v for k, v in self.anchor_layout.items()}
        return {"backbone": backbone, "num_classes": self.num_classes,
                "input_size": self.input_size, "anchor_layout": layout,
                "feature_layout": self.feature_layout, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config["backbone"], dict):
            config["backbone"] = backbones.spec_from_config(config["backbone"]["muxnet_spec"])
        return cls(**config)

    def compile(self, optimizer="adam", loss=None, **kwargs):
        super().compile(optimizer=optimizer, loss=SSDLoss() if loss is None else loss, **kwargs)

    def compile_from_config(self, config):
        """Recompile on load (Keras skips custom `compile` methods unless this is defined)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def encode_sample(self, image, boxes, labels):
        """(image (H, W, 3), pixel xyxy boxes (G, 4), labels (G,)) -> (image at input_size, targets)."""
        image = tf.convert_to_tensor(image)
        size = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = tf.stack([size[1], size[0], size[1], size[0]])
        boxes = tf.reshape(tf.cast(boxes, tf.float32), (-1, 4)) / scale
        resized = tf.image.resize(tf.cast(image, tf.float32), (self.input_size, self.input_size))
        return resized, targets.encode(boxes, labels, self.anchors)

    def detect_raw(self, raw):
        return postprocess.detections(raw, self.anchors, (self.input_size, self.input_size))

    def predict_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        return self.detect_raw(self(tf.cast(x, tf.float32), training=False))
