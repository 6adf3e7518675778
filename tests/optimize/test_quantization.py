"""Quantization-aware training of MUXNet with tfmot, end to end to a full-integer TFLite file."""

import numpy as np
import pytest

from keras_muxnet._keras import keras, variable_short_name
from keras_muxnet.export import TFLiteModel, custom_ops, op_counts, to_tflite, xnnpack_slow_ops
from keras_muxnet.optimize import KerasModeError, quantize_aware, quantize_scope
from muxnet_tiny import images, tiny_model


def test_keras3_mode_says_tfmot_needs_tf_keras():
    with pytest.raises(KerasModeError, match="TF_USE_LEGACY_KERAS=1"):
        quantize_aware(tiny_model())


@pytest.mark.tf_keras_only
@pytest.mark.slow
def test_qat_trains_saves_loads_and_exports_full_integer(tmp_path):
    model = tiny_model(classifier_activation="softmax")
    qat = quantize_aware(model)
    assert any("quant" in type(l).__name__.lower() for l in qat.layers)
    # Depthwise kernels fake-quantized per channel, as the converter stores them (tfmot's
    # default is per tensor, which the converter then rounds again)
    depthwise = qat.get_layer("quant_block2b_gconv")  # the pair swap's direct half
    low = [w for w in depthwise.weights if variable_short_name(w) == "depthwise_kernel_min"]
    assert [tuple(w.shape) for w in low] == [(depthwise.layer.depthwise_kernel.shape[2],)]
    # Every built-in conv's kernel is fake-quantized, those a ReLU follows too (qat_form makes
    # the ReLU their activation; as separate layers tfmot's LayerReLUQuantize gave them a no-op
    # config: 2 depthwise and 2 expansion kernels of this model trained float)
    builtin_convs = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
    convs = [w for w in qat.layers
             if type(getattr(w, "layer", None)) in builtin_convs and w.layer.trainable]
    assert len(convs) >= 30
    for wrapper in convs:
        names = [variable_short_name(v) for v in wrapper.weights]
        assert any(name.endswith("kernel_min") for name in names), (wrapper.name, names)
    assert qat.get_layer("quant_block1a_dwconv").layer.get_config()["activation"] == "relu"
    wrapper = qat.get_layer("quant_normalization")  # the input normalization, now a depthwise conv
    assert type(wrapper.layer) is keras.layers.DepthwiseConv2D and not wrapper.layer.trainable
    kernel, bias = [np.asarray(w) for w in wrapper.weights[:2]]
    pixels = images(2)
    np.testing.assert_allclose(pixels * kernel[0, 0, :, 0] + bias,
                               model.get_layer("normalization")(pixels), rtol=1e-5, atol=1e-5)
    x, y = images(64), np.arange(64) % 10
    qat.compile("adam", "sparse_categorical_crossentropy")
    history = qat.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "qat.h5"
    qat.save(path)
    with quantize_scope():
        reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(x[:4], verbose=0), qat.predict(x[:4], verbose=0),
                               atol=1e-5)
    tflite = to_tflite(qat, tmp_path / "qat.tflite", quantize="int8",
                       representative_data=x[:16], int8_io=True)
    assert custom_ops(tflite) == []
    # The 7x7 group as <=25-tap tiles, the grouped convs as depthwise pairs: XNNPACK's fast paths
    assert xnnpack_slow_ops(tflite) == []
    counts = op_counts(tflite)
    # int8 kernels throughout, int8 in and out: not one DEQUANTIZE. (With a float interface,
    # int8_io=False, there is exactly one, at the output. Before the input Normalization became
    # a depthwise conv, its int8 SUB rescaled the int8 input through float: one more.)
    assert "DEQUANTIZE" not in counts and "SUB" not in counts, counts
    assert counts["DEPTHWISE_CONV_2D"] >= 5
    runner = TFLiteModel(tflite)
    assert runner.input_dtype == np.int8 and runner.output["dtype"] == np.int8
    probabilities = runner(x)  # barely trained on noise: no accuracy, but the QAT model's outputs
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=0.05)
    # Within a few 8-bit steps (1/256) of the QAT model: 0.013-0.014 in 4 runs; 0.16-0.33 when
    # the grouped conv's kernel was fake-quantized before its BatchNorm got folded in. (Top-1
    # agreement says little here: the outputs are nearly uniform, top probability ~0.13.)
    reference = qat.predict(x, verbose=0)
    assert np.abs(probabilities - reference).max() < 0.05


def _softmax(logits):
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


@pytest.mark.tf_keras_only
@pytest.mark.slow
def test_qat_int8_of_trained_digits_is_fast_form_and_follows_its_qat_model(tmp_path):
    """A trained DIGITS MUXNet (3 pair-grouped mux blocks, a 7x7 group), fine-tuned with QAT:
    its int8 file runs on XNNPACK's fast paths only and follows the QAT model on held-out digits.

    Measured over 360 held-out digits (4 float epochs, 1 QAT epoch): top-1 agreement 99.4%,
    median per-image max |probability difference| 0.0017, largest 0.18 (8% of the images above
    0.02; the PTQ int8 file of the float model is as far from its float model: 0.21, 8%).
    """
    from keras_muxnet.training.digits import load_digits
    from muxnet_tiny import train_digits_model

    (x, y), (x_val, _) = load_digits(size=32)
    model = train_digits_model(x, y, epochs=2)
    qat = quantize_aware(model)
    qat.compile(keras.optimizers.Adam(1e-4),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    qat.fit(x[:640], y[:640], epochs=1, batch_size=32, verbose=0)
    path = to_tflite(qat, tmp_path / "qat.tflite", quantize="int8",
                     representative_data=x[:100], int8_io=True)
    assert xnnpack_slow_ops(path) == []
    counts = op_counts(path)
    assert "DEQUANTIZE" not in counts and "SHAPE" not in counts, counts
    # The export's fast form under tfmot (`qat_form`): no pair swap by REVERSE_V2, no channel
    # shuffle by RESHAPE + TRANSPOSE
    assert not {"REVERSE_V2", "TRANSPOSE", "RESHAPE"} & set(counts), counts

    expected = _softmax(qat.predict(x_val, verbose=0))
    got = _softmax(TFLiteModel(path)(x_val))
    drift = np.abs(got - expected).max(-1)
    assert np.mean(got.argmax(-1) == expected.argmax(-1)) >= 0.97
    assert np.median(drift) < 0.01, np.percentile(drift, [50, 90, 100])
