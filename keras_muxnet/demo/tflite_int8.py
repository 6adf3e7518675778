"""Demo step: the fine-tuned MUXNet exported to float32 and full-integer TFLite, both checked
against Keras on held-out digits."""

import os

FLOAT32_MAX_DIFF = 1e-4
INT8_MIN_AGREEMENT = 0.95
CALIBRATION_IMAGES = 200


def finetuned_model(ctx):
    """(Keras model, digits at its input size) from the fine-tuning step of this demo run."""
    from keras_muxnet._keras import keras
    from keras_muxnet.training.digits import load_digits

    path = ctx.get("finetuned_model")
    if not path:
        raise RuntimeError("this step exports the model of the fine-tuning step; run it first")
    model = keras.models.load_model(path)
    size = int(model.inputs[0].shape[1])
    print(f"the fine-tuned model {path} ({model.count_params():,d} parameters; RGB 0-255 "
          f"at {size}x{size}, as it was trained)")
    return model, load_digits(size=size)


def step_export_int8(ctx):
    """Export the fine-tuned MUXNet to float32 and int8 TFLite, check both against Keras on held-out digits."""
    from keras_muxnet.export import agreement, ops, rewrite, runtime, tflite

    model, ((x_train, _), (x_test, y_test)) = finetuned_model(ctx)
    grouped, tiled = len(rewrite.find_blocks(model)), len(rewrite.find_large_kernels(model))
    print(f"export rewrite: {grouped} grouped convolutions as depthwise pairs, {tiled} mixed-kernel "
          f"layers' kernels above 5x5 as <=25-tap tiles; int8 calibrated on {CALIBRATION_IMAGES} "
          f"training digits")
    fp32 = tflite.to_tflite(model, os.path.join(ctx["out"], f"{model.name}_fp32.tflite"))
    int8 = tflite.to_tflite(model, os.path.join(ctx["out"], f"{model.name}_int8.tflite"),
                            quantize="int8", representative_data=x_train[:CALIBRATION_IMAGES],
                            int8_io=True)
    for path, label in ((fp32, "float32"), (int8, "int8")):
        result = agreement.compare(model, runtime.TFLiteModel(path), x_test, y_test)
        slow = ops.xnnpack_slow_ops(path)
        print(f"{label:7s} {path} ({os.path.getsize(path) / 1e3:.0f} kB, "
              f"{len(ops.op_counts(path))} builtin op kinds, no Flex, XNNPACK-slow ops: "
              f"{slow or 'none'}): {result} on {len(x_test)} held-out digits")
        if slow:
            raise RuntimeError(f"{path} has operators XNNPACK runs slowly: {slow}")
        if label == "float32" and result.max_abs_diff > FLOAT32_MAX_DIFF:
            raise RuntimeError(f"float32 TFLite differs from Keras by {result.max_abs_diff:.3g} "
                               f"(allowed {FLOAT32_MAX_DIFF})")
        if label == "int8" and result.agreement < INT8_MIN_AGREEMENT:
            raise RuntimeError(f"int8 TFLite agrees with Keras on only {result.agreement:.1%} "
                               f"(needed {INT8_MIN_AGREEMENT:.0%})")
