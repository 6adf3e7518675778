"""SSDLite's extra feature layers and its depthwise-separable prediction heads.

As in TensorFlow's SSDLite feature extractor for MobileNetV2 (`use_depthwise: true`):
- four extra layers after the backbone, of 512, 256, 256 and 128 channels, each a 1x1 conv to
  half its width, then a 3x3 depthwise conv with stride 2 and a 1x1 conv to its width, every
  conv followed by BatchNorm and ReLU6 ("same" padding: 19, 10, 5, 3, 2, 1 at 300x300);
- on each of the six maps, a box head and a class head, each a 3x3 depthwise conv (BN, ReLU6)
  and a 1x1 conv with bias and no activation to anchors x 4 codes and anchors x (1 + classes)
  logits; all heads are reshaped to (B, anchors, .) and concatenated into one output
  (B, A, 4 + 1 + classes): codes first, then background, then the classes.
`top_down` and `pyramid` are not SSDLite's: they serve the "stride8_top_down" and "stride8_fpn"
feature layouts (see `backbones`).
"""

from keras_muxnet._keras import keras

layers = keras.layers

EXTRA_DEPTHS = (512, 256, 256, 128)


def _bn_relu6(x, name):
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=name + "_bn")(x)
    return layers.ReLU(6.0, name=name + "_relu6")(x)


def extra_layers(x, depths=EXTRA_DEPTHS):
    """The stride-2 maps after the backbone's last one."""
    maps = []
    for i, depth in enumerate(depths):
        name = f"ssd_extra{i + 1}"
        x = _bn_relu6(layers.Conv2D(depth // 2, 1, use_bias=False, name=name + "_reduce")(x),
                      name + "_reduce")
        x = _bn_relu6(layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False,
                                             name=name + "_dwconv")(x), name + "_dwconv")
        x = _bn_relu6(layers.Conv2D(depth, 1, use_bias=False, name=name + "_conv")(x),
                      name + "_conv")
        maps.append(x)
    return maps


def top_down(fine, coarse, name="ssd_top_down"):
    """`fine` plus `coarse` brought to its width (1x1 conv, BN, ReLU6) and size (nearest x2,
    cropped when the fine map is odd): a feature pyramid's merge, giving the stride-8 map the
    stride-16 map's deeper features."""
    width, (rows, cols) = int(fine.shape[-1]), (int(d) for d in fine.shape[1:3])
    x = _bn_relu6(layers.Conv2D(width, 1, use_bias=False, name=name + "_conv")(coarse), name)
    x = layers.UpSampling2D(2, name=name + "_upsample")(x)
    extra = (int(x.shape[1]) - rows, int(x.shape[2]) - cols)
    if any(extra):
        x = layers.Cropping2D(((0, extra[0]), (0, extra[1])), name=name + "_crop")(x)
    return layers.Add(name=name + "_add")([fine, x])


def pyramid(taps, name="ssd_fpn"):
    """[stride 8, 16, 32] taps -> the "stride8_fpn" maps: the stride-32 map bounded by a ReLU6,
    merged top-down into stride 16 and that merge into stride 8 (`top_down`), so the heads of
    the small and middle objects read the deepest features too.

    The bound is for int8: the backbone's last swish spans hundreds (0-232 on digit scenes), a
    range whose int8 step (0.9) the extra layers amplify; everything reading it (its head, the
    extra layers, the merge) now sees [0, 6], as MobileNetV2's ReLU6 features are. It did not
    close the int8 gap on its own: mAP@0.5 0.586 in Keras, 0.522 in int8 (digit scenes, seed 0).
    `dev/int8_drift.py detector` on that detector: the error is already in the stride-32 blocks,
    whose tensors span +-100-380 (int8 steps of 1-3) and reach the bound ~11 of its steps (0.27)
    off on average; the bound shrinks the step downstream, not that error.
    """
    fine, middle, top = taps
    top = layers.ReLU(6.0, name=name + "_top_relu6")(top)
    middle = top_down(middle, top, name=name + "_16")
    return [top_down(fine, middle, name=name + "_8"), middle, top]


def _head(x, outputs, per_anchor, name):
    x = _bn_relu6(layers.DepthwiseConv2D(3, padding="same", use_bias=False,
                                         name=name + "_dwconv")(x), name + "_dwconv")
    x = layers.Conv2D(outputs * per_anchor, 1, name=name + "_conv")(x)
    return layers.Reshape((-1, per_anchor), name=name + "_reshape")(x)


def predictions(maps, anchors_per_cell, num_classes):
    """(B, A, 4 + 1 + num_classes) raw outputs of the six maps' heads."""
    codes, logits = [], []
    for i, (x, count) in enumerate(zip(maps, anchors_per_cell)):
        codes.append(_head(x, count, 4, f"ssd_box{i + 1}"))
        logits.append(_head(x, count, num_classes + 1, f"ssd_class{i + 1}"))
    codes = layers.Concatenate(axis=1, name="ssd_box_codes")(codes)
    logits = layers.Concatenate(axis=1, name="ssd_class_logits")(logits)
    return layers.Concatenate(axis=-1, name="ssd_predictions")([codes, logits])
