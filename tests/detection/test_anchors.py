import numpy as np
import pytest

from keras_muxnet.detection import anchors


def test_ssdlite_anchor_counts_at_300():
    sizes = [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    assert anchors.anchors_per_cell(6) == [3, 6, 6, 6, 6, 6]
    assert len(anchors.generate(sizes)) == 19 * 19 * 3 + 6 * (100 + 25 + 9 + 4 + 1) == 1917


def test_scales_ratios_and_centres():
    assert anchors.layer_scales(6) == pytest.approx([0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0])
    out = anchors.generate([(2, 2), (1, 1)])
    # Lowest layer, first cell: 1:1 at 0.1, then 2:1 (wide) and 1:2 at its scale 0.2.
    np.testing.assert_allclose(out[0], [0.25, 0.25, 0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.25, 0.25, 0.2 / np.sqrt(2), 0.2 * np.sqrt(2)], atol=1e-6)
    np.testing.assert_allclose(out[2], [0.25, 0.25, 0.2 * np.sqrt(2), 0.2 / np.sqrt(2)], atol=1e-6)
    # Row by row: the second anchor triple is the cell right of the first.
    np.testing.assert_allclose(out[3, :2], [0.25, 0.75])
    last = out[12:]  # the 1x1 map: 5 ratios at 0.95 (two-layer scales: 0.2, 0.95) + sqrt(0.95)
    assert len(last) == 6
    np.testing.assert_allclose(last[-1], [0.5, 0.5, np.sqrt(0.95), np.sqrt(0.95)], atol=1e-6)
    np.testing.assert_allclose(last[3, 2] / last[3, 3], 1 / 3, atol=1e-6)  # ratio 3: w = 3 h


def test_a_layout_fitted_to_tall_objects():
    layout = anchors.check_layout(anchors.DIGIT_SCENES)
    specs = anchors.box_specs(6, **layout)
    assert anchors.anchors_per_cell(6, **layout) == [4] * 6  # no reduced lowest layer
    assert specs[0][:3] == [(0.15, 0.6), (0.15, 0.4), (0.15, 1.0)]
    scale, ratio = specs[0][3]                   # interpolated scale, at the first ratio
    assert ratio == 0.6 and scale == pytest.approx(np.sqrt(0.15 * 0.31))
    out = anchors.generate([(2, 2), (1, 1)], **layout)
    np.testing.assert_allclose(out[0, 3] / out[0, 2], 0.6, rtol=1e-6)  # width / height
    assert anchors.check_layout(None) == anchors.PAPER


def test_bad_layouts_are_named():
    with pytest.raises(ValueError, match="unknown anchor settings \\['scales'\\]"):
        anchors.check_layout({"scales": (0.1, 0.2)})
    with pytest.raises(ValueError, match="positive aspect ratios"):
        anchors.check_layout({"aspect_ratios": (1.0, -2.0)})
    with pytest.raises(ValueError, match="min_scale <= max_scale"):
        anchors.check_layout({"min_scale": 0.9, "max_scale": 0.5})
