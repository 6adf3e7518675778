"""`optimize.qat_ranges`: a fresh QAT model's activation ranges seeded from a calibration pass."""

import numpy as np
import pytest

from keras_muxnet._keras import keras, variable_short_name
from keras_muxnet.models import MUXNet
from keras_muxnet.optimize import quantize_aware
from keras_muxnet.optimize.qat_ranges import observed_ranges
from muxnet_tiny import TRAINING_TINY, images

RANGE_NAMES = ("output_min", "output_max", "post_activation_min", "post_activation_max",
               "pre_activation_min", "pre_activation_max")


def _ranges(wrapper):
    return {variable_short_name(w): float(np.asarray(w)) for w in wrapper.weights
            if variable_short_name(w) in RANGE_NAMES}


@pytest.mark.tf_keras_only
@pytest.mark.slow
def test_quantize_aware_starts_from_the_calibrated_ranges():
    keras.utils.set_random_seed(0)
    model = MUXNet(TRAINING_TINY, weights=None, input_shape=(32, 32, 3), classes=10)
    x = images(8)
    qat = quantize_aware(model, calibration_images=x, logit_range=(-8, 8))
    # The stem's swish (now a Multiply of the same name): the float model's range over x, not
    # tfmot's [-6, 6]
    stem = np.asarray(keras.Model(model.inputs, model.get_layer("stem_activation").output)(x))
    ranges = _ranges(qat.get_layer("quant_stem_activation"))
    assert (ranges["output_min"], ranges["output_max"]) == pytest.approx(
        (min(stem.min(), 0.0), stem.max()), rel=1e-5)
    assert ranges["output_min"] == pytest.approx(-0.2785, abs=1e-3)  # the swish's minimum
    # Every activation range was seeded: none is left at tfmot's initial [-6, 6]
    seeded = [r for layer in qat.layers for r in _ranges(layer).items()]
    assert len(seeded) > 20
    assert all(abs(value) != 6.0 for _, value in seeded), seeded
    # The logits (entering the classifier's softmax) at the range asked for
    assert _ranges(qat.get_layer("quant_predictions")) == {"pre_activation_min": -8.0,
                                                          "pre_activation_max": 8.0}


@pytest.mark.tf_keras_only
def test_quantize_aware_refuses_a_logit_range_without_zero_inside():
    with pytest.raises(ValueError, match="logit_range"):
        quantize_aware(None, logit_range=(1, 8))


def test_observed_ranges_refuses_what_is_not_a_batch_of_images():
    with pytest.raises(ValueError, match="non-empty"):
        observed_ranges(None, np.zeros((0, 32, 32, 3)))
