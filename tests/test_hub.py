"""keras-hub: MUXNetBackbone as a FeaturePyramidBackbone, and keras-hub's task models on it."""

import os

import numpy as np
import pytest

from keras_muxnet._keras import LEGACY_KERAS

if LEGACY_KERAS:
    pytest.skip("keras-hub runs on Keras 3 only", allow_module_level=True)
pytest.importorskip("keras_hub")

import keras  # noqa: E402  (keras-hub is Keras 3 only; these tests never run under tf_keras)
import keras_hub  # noqa: E402

from keras_muxnet import hub  # noqa: E402
from keras_muxnet.architectures import MUXNetSpec  # noqa: E402

# Tiny, but reaching stride 32 with an expansion block, so all five levels exist.
TINY = MUXNetSpec(
    name="muxnet_tiny_hub",
    stages=(("ds_k3_s1_c8_se0.25_nre",), ("ir_k3_s2_e3_c8_se0.25_nre",),
            ("ir_k3.5_s2_e3_c16_se0.25", "mux_r1_k3_e3_c16_se0.25_l0.5"),
            ("ir_k3_s2_e3_c24_se0.25",), ("ir_k3_s2_e3_c32_se0.25",)),
    stem_filters=8, head_filters=64, published=False)


def _images(count, size):
    return np.random.default_rng(0).uniform(0, 255, (count, size, size, 3)).astype("float32")


def test_backbone_pyramid_config_and_keras_round_trip(tmp_path):
    backbone = hub.MUXNetBackbone("muxnet_xs")
    assert isinstance(backbone, keras_hub.models.FeaturePyramidBackbone)
    model = keras.Model(backbone.inputs, backbone.pyramid_outputs)
    out = model(_images(1, 64))
    assert sorted(out) == ["P1", "P2", "P3", "P4", "P5"]
    assert [out[f"P{i}"].shape[1] for i in range(1, 6)] == [32, 16, 8, 4, 2]
    assert backbone.expansion_output.shape[-1] == 192
    clone = hub.MUXNetBackbone.from_config(backbone.get_config())
    assert clone.count_params() == backbone.count_params()
    path = str(tmp_path / "backbone.keras")
    backbone.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, hub.MUXNetBackbone) and sorted(loaded.pyramid_outputs) == sorted(out)
    np.testing.assert_allclose(loaded(_images(1, 64)), backbone(_images(1, 64)), atol=1e-5)


def test_preset_saved_to_and_loaded_from_a_local_directory(tmp_path):
    backbone = hub.MUXNetBackbone(TINY, image_shape=(64, 64, 3))
    preset = str(tmp_path / "preset")
    backbone.save_to_preset(preset)
    assert os.path.isfile(os.path.join(preset, "config.json"))
    loaded = hub.MUXNetBackbone.from_preset(preset)
    assert loaded.variant == backbone.variant
    np.testing.assert_allclose(loaded(_images(2, 64)), backbone(_images(2, 64)), atol=1e-5)
    generic = keras_hub.models.Backbone.from_preset(preset)
    assert isinstance(generic, hub.MUXNetBackbone)


@pytest.mark.slow
def test_retinanet_builds_fits_and_predicts():
    size = 128
    encoder = hub.MUXNetBackbone(TINY, image_shape=(size, size, 3))
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=5, use_p5=False, image_shape=(size, size, 3))
    detector = keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone, num_classes=3, bounding_box_format="xyxy", pre_logits_num_conv_layers=1)
    detector.compile(optimizer="sgd")
    x = _images(2, size)
    y = {"boxes": np.array([[[10, 10, 60, 60]], [[30, 40, 100, 90]]], "float32"),
         "labels": np.array([[1], [2]], "int32")}
    history = detector.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    out = detector.predict(x, verbose=0)
    assert {"boxes", "confidence", "labels", "num_detections"} <= set(out)
    assert out["boxes"].shape[0] == 2


@pytest.mark.slow
def test_deeplabv3_builds_fits_and_predicts():
    size = 64
    encoder = hub.MUXNetBackbone(TINY, image_shape=(size, size, 3))
    backbone = keras_hub.models.DeepLabV3Backbone(
        image_encoder=encoder, spatial_pyramid_pooling_key="P5", upsampling_size=8,
        dilation_rates=[1, 2], low_level_feature_key="P2", projection_filters=8,
        image_shape=(size, size, 3))
    segmenter = keras_hub.models.DeepLabV3ImageSegmenter(backbone=backbone, num_classes=3)
    segmenter.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = _images(2, size)
    y = np.random.default_rng(1).integers(0, 3, (2, size, size, 1))
    history = segmenter.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    out = segmenter.predict(x, verbose=0)
    assert out.shape == (2, size, size, 3)
