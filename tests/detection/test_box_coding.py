import numpy as np

from keras_muxnet.detection import box_coding


def test_encode_known_values_and_round_trip():
    anchor = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)  # cy, cx, h, w
    box = np.array([[0.3, 0.45, 0.9, 0.65]], np.float32)   # x1 y1 x2 y2: centre (0.55, 0.6), 0.2 x 0.6
    codes = box_coding.encode(box, anchor).numpy()
    np.testing.assert_allclose(codes, [[10 * 0.05 / 0.2, 10 * 0.1 / 0.4, 0.0, 5 * np.log(1.5)]],
                               atol=1e-5)
    rng = np.random.default_rng(0)
    corners = np.sort(rng.uniform(0, 1, (50, 2, 2)), axis=1).transpose(0, 2, 1).reshape(50, 4)
    boxes = corners[:, [0, 2, 1, 3]].astype(np.float32)
    anchors = np.tile(anchor, (50, 1))
    np.testing.assert_allclose(box_coding.decode(box_coding.encode(boxes, anchors), anchors),
                               boxes, atol=1e-5)
