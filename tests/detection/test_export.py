"""SSDLite to TFLite with TFLITE_Detection_PostProcess: parity with Keras, int8, bad input."""

import numpy as np
import pytest

from keras_muxnet.detection import SSDLite, export
from keras_muxnet.export import ops
from muxnet_tiny import randomize_batchnorm

SIZE = 96


@pytest.fixture(scope="module")
def detector(tiny_backbone):
    return randomize_batchnorm(SSDLite(tiny_backbone, num_classes=3, input_size=SIZE), seed=3)


def _images(count=3):
    return np.random.default_rng(0).integers(0, 255, (count, SIZE, SIZE, 3)).astype(np.float32)


@pytest.mark.slow
def test_fp32_detections_equal_keras(detector, tmp_path):
    path = export.to_tflite(detector, str(tmp_path / "detector.tflite"))
    assert set(ops.custom_ops(path)) == {export.POSTPROCESS_OP}
    x = _images()
    lite = export.TFLiteDetector(path).predict(x)
    keras_out = detector.predict(x, verbose=0)
    np.testing.assert_array_equal(lite["num_detections"], keras_out["num_detections"])
    # The same detections (label, box within 1 px, score); equal scores may come in any order.
    for image in range(len(x)):
        for i in range(int(keras_out["num_detections"][image])):
            same = ((lite["labels"][image] == keras_out["labels"][image, i])
                    & (np.abs(lite["boxes"][image] - keras_out["boxes"][image, i]).max(-1) <= 1.0)
                    & (np.abs(lite["confidence"][image] - keras_out["confidence"][image, i]) < 1e-4))
            assert same.any(), (image, i)


@pytest.mark.slow
def test_int8_export_runs_with_integer_kernels(detector, tmp_path):
    path = export.to_tflite(detector, str(tmp_path / "int8.tflite"), quantize="int8",
                            representative_data=_images(4))
    counts = ops.op_counts(path)
    assert counts.get("QUANTIZE") and counts.get(f"CUSTOM:{export.POSTPROCESS_OP}") == 1
    # Reference kernels: LiteRT's XNNPACK delegate can abort on untrained int8 detectors.
    out = export.TFLiteDetector(path, xnnpack=False).predict(_images(1))
    assert out["boxes"].shape == (1, 100, 4) and int(out["num_detections"][0]) > 0


def test_int8_needs_representative_data_and_inputs_are_checked(detector, tmp_path):
    with pytest.raises(ValueError, match="needs representative_data"):
        export.to_tflite(detector, str(tmp_path / "x.tflite"), quantize="int8")
    with pytest.raises(ValueError, match="int8_ranges must be one of"):
        export.to_tflite(detector, str(tmp_path / "x.tflite"), quantize="int8",
                         representative_data=_images(1), int8_ranges="percentile")
    assert not (tmp_path / "x.tflite").exists()


@pytest.mark.slow
def test_int8_export_clips_gate_logits_that_min_max_would_not(tiny_backbone):
    from keras_muxnet._keras import keras
    from keras_muxnet.export import calibration, saturation

    detector = randomize_batchnorm(SSDLite(tiny_backbone, num_classes=3, input_size=SIZE), seed=3)
    gates = [layer for layer in detector.layers if layer.name.endswith("se_expand")]
    for layer in gates:  # wide gate logits, as the trained detectors' stride-32 blocks have
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * 40.0, bias])
    images = _images(4)
    # The layers end in their sigmoid: their logits from their (1x1 pooled) inputs.
    squeezed = keras.Model(detector.input, [layer.input for layer in gates])(images)
    logits = [np.asarray(x) @ layer.get_weights()[0][0, 0] + layer.get_weights()[1]
              for x, layer in zip(squeezed, gates)]
    # Averaged over the images too (the default int8 ranges), some gate's logits reach past it.
    assert max(float(np.abs(x).reshape(len(x), -1).max(1).mean()) for x in logits) > (
        2 * saturation.GATE_BOUND)
    flatbuffer = export.convert(detector, quantize="int8", representative_data=images)
    assert set(ops.custom_ops(flatbuffer)) == {export.POSTPROCESS_OP}
    model = calibration._model_object(flatbuffer)
    tensors = model.subgraphs[0].tensors
    inputs = saturation.gate_inputs(model)
    assert len(inputs) >= len(gates)
    for index in inputs:
        scale, zero_point = tensors[index].quantization.scale[0], tensors[index].quantization.zeroPoint[0]
        low, high = (-128 - zero_point) * scale, (127 - zero_point) * scale
        assert -saturation.GATE_BOUND - scale <= low and high <= saturation.GATE_BOUND + scale
    out = export.TFLiteDetector(flatbuffer, xnnpack=False).predict(_images(1))
    assert out["boxes"].shape == (1, 100, 4)
