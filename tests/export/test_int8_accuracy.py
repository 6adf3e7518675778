"""Full-integer TFLite of a trained MUXNet agrees with the float model on real held-out images."""

import pytest

from keras_muxnet.export import check, runtime, to_tflite


@pytest.mark.slow
def test_int8_agrees_with_float_on_held_out_digits(tmp_path):
    x_train, y_train, x_test, y_test = check.digits_task()
    model = check.train_small_muxnet(x_train, y_train)
    path = to_tflite(model, tmp_path / "digits.tflite", quantize="int8",
                     representative_data=x_train[:200], int8_io=True)
    result = check.compare(model, runtime.TFLiteModel(path), x_test, y_test)
    assert result.keras_accuracy > 0.9, result  # the model did learn
    assert result.agreement >= 0.95, result
