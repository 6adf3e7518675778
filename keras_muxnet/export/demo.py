"""Demo step: export a trained MUXNet to full-integer TFLite and check it against Keras."""

import os


def step_export_int8(ctx):
    """Train a small MUXNet on real digits, export it to int8 TFLite, check it against Keras."""
    from keras_muxnet.export import check, ops, runtime, tflite

    x_train, y_train, x_test, y_test = check.digits_task()
    model = check.train_small_muxnet(x_train, y_train)
    fp32 = tflite.to_tflite(model, os.path.join(ctx["out"], "muxnet_digits_fp32.tflite"))
    int8 = tflite.to_tflite(model, os.path.join(ctx["out"], "muxnet_digits_int8.tflite"),
                            quantize="int8", representative_data=x_train[:200], int8_io=True)
    for path, label in ((fp32, "float32"), (int8, "int8")):
        result = check.compare(model, runtime.TFLiteModel(path), x_test, y_test)
        kinds = sorted(ops.op_counts(path))
        print(f"{label:7s} {os.path.basename(path)} ({os.path.getsize(path) / 1e3:.0f} kB, "
              f"{len(kinds)} builtin op kinds, no Flex): {result} on {len(x_test)} held-out digits")
        if label == "float32" and result.max_abs_diff > 1e-4:
            raise RuntimeError(f"float32 TFLite differs from Keras by {result.max_abs_diff}")
        if label == "int8" and result.agreement < 0.95:
            raise RuntimeError(f"int8 TFLite agrees with Keras on only {result.agreement:.1%}")
