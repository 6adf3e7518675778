"""SSD anchors, as TensorFlow's object-detection `ssd_anchor_generator` makes them for SSDLite.

Choices (those of the `ssdlite_mobilenet_v2` config, which MobileNetV2 §6.2 and MUXNet follow):
- one scale per feature map, evenly spaced from `min_scale` 0.2 to `max_scale` 0.95 over the
  six maps (0.2, 0.35, 0.5, 0.65, 0.8, 0.95), relative to the image side;
- aspect ratios {1, 2, 1/2, 3, 1/3} at that scale, plus an anchor of the first ratio (1:1) at
  the interpolated scale sqrt(s_i * s_{i+1}) (s_7 = 1.0), six anchors per cell;
- the lowest (stride-16) map has three: 1:1 at scale 0.1, and 2:1, 1:2 at its scale 0.2
  (`reduce_boxes_in_lowest_layer`);
- an anchor of scale s and ratio a has width s*sqrt(a), height s/sqrt(a); cells are centred
  ((i + 0.5) / size); anchors are not clipped to the image.
Anchors are (cy, cx, h, w), normalized, ordered map by map, row by row, cell by cell, then by
the anchor list above: the order in which the heads' reshaped outputs are concatenated.

The scales and ratios are parameters (a detector keeps them in its config) because they should
fit the objects: `DIGIT_SCENES` is the layout for digit scenes, whose digits are tall (width /
height 0.5-0.7) and 1/8 to 1/2 of the image high: ratios (0.6, 0.4, 1) from scale 0.15, no
reduced lowest layer, the interpolated anchor at the first ratio. With the paper's layout at
128 pixels, 58% of the digits have no anchor at IoU 0.5 and 86% get one positive anchor only.
`DIGIT_SCENES_STRIDE8` is the same from scale 0.1, for SSDLite's `feature_layout="stride8"`
(seven maps: 0.1, 0.24, ..., 0.95). On the digits of 600 held-out 192-pixel scenes, the share with
an anchor at IoU >= 0.5 (and the mean number of such anchors), digits under 32 / 32-56 / 56-96
px tall: `DIGIT_SCENES` on the paper's six maps 0.39 (0.8) / 0.86 (2.8) / 0.94 (3.8);
`DIGIT_SCENES_STRIDE8` on seven maps 0.99 (5.2) / 1.00 (5.5) / 1.00 (9.3). (Targets force-match
each digit to its best anchor anyway, but one positive anchor of IoU 0.3 trains poorly.)
"""

import math

import numpy as np

MIN_SCALE = 0.2
MAX_SCALE = 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
LOWEST_LAYER_BOXES = ((0.1, 1.0), (None, 2.0), (None, 0.5))  # None: the layer's own scale


def layer_scales(num_layers, min_scale=MIN_SCALE, max_scale=MAX_SCALE):
    if num_layers == 1:
        return [min_scale, 1.0]
    step = (max_scale - min_scale) / (num_layers - 1)
    return [min_scale + step * i for i in range(num_layers)] + [1.0]


PAPER = {"min_scale": MIN_SCALE, "max_scale": MAX_SCALE, "aspect_ratios": ASPECT_RATIOS,
         "reduce_lowest_layer": True}
DIGIT_SCENES = {"min_scale": 0.15, "max_scale": 0.95, "aspect_ratios": (0.6, 0.4, 1.0),
                "reduce_lowest_layer": False}
DIGIT_SCENES_STRIDE8 = {**DIGIT_SCENES, "min_scale": 0.1}


def check_layout(layout):
    """A layout dict (keys of `PAPER`, missing ones from it) checked and with tuple ratios."""
    layout = dict(layout or {})
    unknown = set(layout) - set(PAPER)
    if unknown:
        raise ValueError(f"unknown anchor settings {sorted(unknown)}; known: {sorted(PAPER)}")
    layout = {**PAPER, **layout}
    layout["aspect_ratios"] = tuple(float(a) for a in layout["aspect_ratios"])
    if not 0 < layout["min_scale"] <= layout["max_scale"] or not layout["aspect_ratios"] or \
            min(layout["aspect_ratios"]) <= 0:
        raise ValueError(f"anchor layout needs 0 < min_scale <= max_scale and positive aspect "
                         f"ratios, got {layout}")
    return layout


def box_specs(num_layers, aspect_ratios=ASPECT_RATIOS, min_scale=MIN_SCALE, max_scale=MAX_SCALE,
              reduce_lowest_layer=True):
    """[(scale, aspect ratio), ...] per feature map."""
    scales = layer_scales(num_layers, min_scale, max_scale)
    specs = []
    for i in range(num_layers):
        if i == 0 and reduce_lowest_layer:
            specs.append([(scales[0] if s is None else s, a) for s, a in LOWEST_LAYER_BOXES])
            continue
        layer = [(scales[i], a) for a in aspect_ratios]
        layer.append((math.sqrt(scales[i] * scales[i + 1]), aspect_ratios[0]))
        specs.append(layer)
    return specs


def anchors_per_cell(num_layers, **kwargs):
    return [len(layer) for layer in box_specs(num_layers, **kwargs)]


def generate(feature_map_sizes, **kwargs):
    """All anchors (A, 4) as normalized (cy, cx, h, w) for maps of the given (height, width)."""
    out = []
    for (rows, cols), layer in zip(feature_map_sizes, box_specs(len(feature_map_sizes), **kwargs)):
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols,
                             indexing="ij")
        sizes = np.array([(s / math.sqrt(a), s * math.sqrt(a)) for s, a in layer])  # (k, [h, w])
        grid = np.stack([cy, cx], axis=-1)[:, :, None, :]                          # (r, c, 1, 2)
        grid = np.broadcast_to(grid, (rows, cols, len(layer), 2))
        hw = np.broadcast_to(sizes, (rows, cols, len(layer), 2))
        out.append(np.concatenate([grid, hw], axis=-1).reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def to_corners(anchors):
    """(cy, cx, h, w) -> normalized xyxy."""
    cy, cx, h, w = (anchors[..., i] for i in range(4))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
