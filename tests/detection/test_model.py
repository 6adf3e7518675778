"""SSDLite: shapes, fit, predict's dict, .keras round trip, Table 2 counts, bad arguments."""

import numpy as np
import pytest
import tensorflow as tf

import keras_muxnet
from keras_muxnet._keras import keras
from keras_muxnet.detection import SSDLite, anchors

SIZE = 96


@pytest.fixture(scope="module")
def detector(tiny_backbone):
    return SSDLite(tiny_backbone, num_classes=3, input_size=SIZE,
                   anchor_layout=anchors.DIGIT_SCENES)


def _dataset(model, count=4):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (count, SIZE, SIZE, 3)).astype(np.uint8)
    boxes = [np.array([[10, 20, 60, 90]], np.float32), np.zeros((0, 4), np.float32)] * (count // 2)
    labels = [np.array([2]), np.zeros((0,), int)] * (count // 2)
    pairs = [model.encode_sample(i, b, l) for i, b, l in zip(images, boxes, labels)]
    x = np.stack([p[0] for p in pairs])
    y = np.stack([p[1] for p in pairs])
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2), images


@pytest.mark.both_modes
def test_maps_anchors_and_output(detector):
    assert detector.feature_map_sizes == [(6, 6), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1)]
    assert detector.get_layer("block5a_expand_activation").output.shape[1:3] == (6, 6)
    assert detector.output.shape[1:] == (len(detector.anchors), 4 + 1 + 3)


@pytest.mark.slow
@pytest.mark.both_modes
def test_fit_predict_and_keras_round_trip(detector, tmp_path):
    data, images = _dataset(detector)
    detector.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    history = detector.fit(data, epochs=1, verbose=0)  # one batch has an image with no boxes
    assert np.isfinite(history.history["loss"][0])
    out = detector.predict(images, verbose=0)
    assert set(out) == {"boxes", "confidence", "labels", "num_detections"}
    assert out["boxes"].shape == (4, 100, 4) and out["labels"].dtype == np.int32
    n = int(out["num_detections"][0])
    assert n > 0 and np.all(out["labels"][0, n:] == -1)
    assert np.all(out["boxes"][0, :n] >= 0) and np.all(out["boxes"][0, :n] <= SIZE)
    assert np.all(out["boxes"][0, :n, 2:] >= out["boxes"][0, :n, :2])
    path = str(tmp_path / "detector.keras")
    detector.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, SSDLite) and loaded.num_classes == 3
    assert isinstance(loaded.loss, keras_muxnet.detection.SSDLoss)
    assert loaded.backbone_name == detector.backbone_name
    assert loaded.anchor_layout == anchors.check_layout(anchors.DIGIT_SCENES)
    np.testing.assert_array_equal(loaded.anchors, detector.anchors)
    x = images[:2].astype(np.float32)
    np.testing.assert_allclose(loaded(x), detector(x), atol=1e-4)
    again = loaded.predict(images[:2], verbose=0)
    np.testing.assert_allclose(again["boxes"], out["boxes"][:2], atol=1e-2)


@pytest.mark.slow
@pytest.mark.parametrize("backbone, madds, params", [("muxnet_m", 0.5e9, 3.2e6),
                                                     ("mobilenet_v2", 0.7e9, 3.4e6)])
def test_table2_counts_at_300_with_voc_classes(backbone, madds, params):
    profile = keras_muxnet.profile(SSDLite(backbone, num_classes=20, input_size=300))
    assert profile.params == pytest.approx(params, rel=0.10)
    assert profile.madds == pytest.approx(madds, rel=0.10)


def test_variants_build_the_same_way():
    model = SSDLite("MUXNet-xs", num_classes=20, input_size=96)
    assert model.name == "ssdlite_muxnet_xs"
    assert model.feature_map_sizes[:2] == [(6, 6), (3, 3)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown detection backbone 'resnet50'"):
        SSDLite("resnet50")
    with pytest.raises(ValueError, match="input_size must be an even integer"):
        SSDLite("muxnet_xs", input_size=63)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        SSDLite("muxnet_xs", num_classes=0)


@pytest.mark.slow
@pytest.mark.both_modes
@pytest.mark.parametrize("layout", ["stride8", "stride8_top_down", "stride8_fpn"])
def test_stride8_layout_adds_a_finer_map_and_trains(tiny_backbone, layout):
    model = SSDLite(tiny_backbone, num_classes=3, input_size=64, feature_layout=layout,
                    anchor_layout=anchors.DIGIT_SCENES_STRIDE8)
    assert model.feature_map_sizes == [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1), (1, 1), (1, 1)]
    # The stride-8 map is the expansion of the first stride-16 block, as stride 16's is of 32's.
    assert model.get_layer("block4a_expand_activation").output.shape[1:3] == (8, 8)
    if layout == "stride8_top_down":  # the stride-16 map, upsampled, is added to it
        assert model.get_layer("ssd_top_down_add").output.shape[1:] == (8, 8, 48)
    if layout == "stride8_fpn":  # stride 32 (bounded to [0, 6]) into 16, and that into 8
        assert model.get_layer("ssd_fpn_16_add").output.shape[1:3] == (4, 4)
        assert model.get_layer("ssd_fpn_8_add").output.shape[1:] == (8, 8, 48)
        bounded = model.get_layer("ssd_fpn_top_relu6").output  # what the extra layers read
        assert model.get_layer("ssd_extra1_reduce").input is bounded
    assert len(model.anchors) == 4 * (64 + 16 + 4 + 4 * 1)
    assert model.anchors[:4, 2].min() == pytest.approx(0.1)  # 6.4-pixel anchors, 8-pixel cells
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)
    x, y = model.encode_sample(image, np.array([[9, 8, 15, 18]], np.float32), np.array([1]))
    assert np.any(np.asarray(y)[:8 * 8 * 4, 4] == 2)  # a 10-pixel object matches at stride 8
    model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)  # no tracing: faster
    loss = model.train_on_batch(np.stack([x, x]), np.stack([y, y]))
    assert np.all(np.isfinite(loss))
    assert model.get_config()["feature_layout"] == layout  # saved and rebuilt with the model
    with pytest.raises(ValueError, match="unknown feature_layout 'fpn'"):
        SSDLite(tiny_backbone, num_classes=3, input_size=64, feature_layout="fpn")
