"""The paper's learning-rate schedules."""

import numpy as np
import pytest

from keras_muxnet._keras import keras
from keras_muxnet.training import schedules

pytestmark = pytest.mark.both_modes


def test_imagenet_schedule_warms_up_then_decays_by_097_every_3_epochs():
    steps = 100  # per epoch
    schedule = schedules.imagenet_schedule(steps, global_batch_size=512)
    peak = 0.016 * 512 / 256
    lr = lambda step: float(schedule(step))
    assert lr(0) == 0.0
    assert lr(250) == pytest.approx(peak / 2)  # half-way through the 5 warm-up epochs
    assert lr(500) == pytest.approx(peak)
    assert lr(799) == pytest.approx(peak)
    assert lr(800) == pytest.approx(peak * 0.97)
    assert lr(500 + 30 * steps) == pytest.approx(peak * 0.97 ** 10, rel=1e-5)


def test_schedule_serializes():
    schedule = schedules.imagenet_schedule(10, 256)
    config = keras.optimizers.schedules.serialize(schedule)
    again = keras.optimizers.schedules.deserialize(config)
    assert [float(again(s)) for s in (0, 25, 90)] == [float(schedule(s)) for s in (0, 25, 90)]


def test_cosine_from_001_to_zero():
    schedule = schedules.cosine_schedule(0.01, 1000)
    values = np.array([float(schedule(s)) for s in (0, 500, 1000)])
    np.testing.assert_allclose(values, [0.01, 0.005, 0.0], atol=1e-7)
    with pytest.raises(ValueError, match="total_steps"):
        schedules.cosine_schedule(0.01, 0)
