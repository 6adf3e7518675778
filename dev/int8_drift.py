"""Where a model's int8 TFLite file leaves it: the error of every layer's int8 tensor in steps of
its scale, in execution order (`keras_muxnet.export.int8_drift`), and the top-line agreement.

    python dev/int8_drift.py classifier --model muxnet_xs --weights /tmp/xs.weights.h5
    TF_USE_LEGACY_KERAS=1 python dev/int8_drift.py qat --weights /tmp/xs.weights.h5
    python dev/int8_drift.py detector runs/det/detector.keras

classifier: a MUXNet on 32-pixel digits (trained 4 epochs as `optimize qat-check` trains it, the
weights cached at --weights), PTQ int8 calibrated on --calibration training digits; prints its
top-1 agreement with the float model on the held-out digits, then the drift on --images of them.
qat (TF_USE_LEGACY_KERAS=1): the classifier's cached float weights fine-tuned one epoch with
`quantize_aware`, its int8 file against the QAT model: how far the probabilities are, then per
layer the drift built up (`tensor_drift`) and what each operator alone does differently from its
fake-quantized layer, fed the file's own inputs (`local_drift`).
detector: a saved SSDLite, int8 calibrated on --calibration training digit scenes; prints the
int8 mAP@0.5 beside Keras's on --heldout scenes, then the drift of the network (before the
post-processing) on --images of them.
"""

import argparse
import os

import numpy as np


def _digits_model(name):
    """The digits data at 32 px and an untrained MUXNet for them (logits out), seeded."""
    from keras_muxnet import ablations
    from keras_muxnet._keras import keras
    from keras_muxnet.models import MUXNet
    from keras_muxnet.training.digits import NUM_CLASSES, load_digits

    data = load_digits(size=32, seed=0)
    keras.utils.set_random_seed(0)
    model = MUXNet(ablations.resolve(name), weights=None, input_shape=(32, 32, 3),
                   classes=NUM_CLASSES, classifier_activation=None)
    return data, model


def classifier(args):
    from keras_muxnet.export import int8_drift, rewrite, runtime, tflite
    from keras_muxnet.export.agreement import run_batched
    from keras_muxnet.optimize.qat_check import fit_logits

    ((x, y), (x_val, y_val)), model = _digits_model(args.model)
    if os.path.exists(args.weights):
        model.load_weights(args.weights)
    else:
        fit_logits(model, x, y, epochs=4, learning_rate=3e-3, batch_size=32)
        model.save_weights(args.weights)
    flatbuffer = tflite.convert(model, "int8", x[:args.calibration], int8_io=True)
    reference = model.predict(x_val, verbose=0)
    got = run_batched(runtime.TFLiteModel(flatbuffer), x_val)
    print(f"float accuracy {np.mean(reference.argmax(-1) == y_val):.3f}, int8 accuracy "
          f"{np.mean(got.argmax(-1) == y_val):.3f}, top-1 agreement "
          f"{np.mean(reference.argmax(-1) == got.argmax(-1)):.3f}, mean |logit difference| "
          f"{np.abs(reference - got).mean():.3f}")
    fast, _ = rewrite.for_inference(model)
    print(int8_drift.format_drift(int8_drift.tensor_drift(fast, flatbuffer, x_val[:args.images])))


def qat(args):
    from keras_muxnet.export import int8_drift, runtime, tflite
    from keras_muxnet.export.agreement import run_batched
    from keras_muxnet.optimize import quantize_aware
    from keras_muxnet.optimize.qat_check import fit_logits, follows, softmax

    ((x, y), (x_val, _)), model = _digits_model(args.model)
    model.load_weights(args.weights)  # written by the classifier run
    representative = x[:args.calibration]
    qat_model = quantize_aware(model, representative)
    fit_logits(qat_model, x, y, epochs=1, learning_rate=1e-4, batch_size=32)
    flatbuffer = tflite.convert(qat_model, "int8", representative, int8_io=True)
    print("QAT int8 vs its QAT model:", follows(
        softmax(run_batched(runtime.TFLiteModel(flatbuffer), x_val)),
        softmax(qat_model.predict(x_val, verbose=0))))
    images = x_val[:args.images]
    print(int8_drift.format_drift(int8_drift.tensor_drift(qat_model, flatbuffer, images)))
    print(int8_drift.format_local_drift(int8_drift.local_drift(qat_model, flatbuffer, images)))


def detector(args):
    from keras_muxnet._keras import keras
    from keras_muxnet.detection import SSDLite, digit_scenes, fitting  # noqa: F401 (registers it)
    from keras_muxnet.detection.int8_fidelity import int8_flatbuffer, int8_scores
    from keras_muxnet.export import int8_drift, rewrite

    model = keras.models.load_model(args.path)
    train, heldout = digit_scenes.load_digit_scenes(args.calibration, args.heldout,
                                                    size=model.input_size, seed=0)
    flatbuffer = int8_flatbuffer(model, train[0])
    scores = fitting.evaluate(model, *heldout)
    scores.update(int8_scores(model, None, heldout, flatbuffer=flatbuffer))
    print(f"held-out mAP@0.5: Keras {scores['map50']:.4f}, int8 {scores['int8_map50']:.4f}")
    core, _ = rewrite.for_inference(model)
    print(int8_drift.format_drift(int8_drift.tensor_drift(core, flatbuffer,
                                                          heldout[0][:args.images])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    digits = argparse.ArgumentParser(add_help=False)  # what the two digits kinds share
    digits.add_argument("--model", default="muxnet_xs")
    digits.add_argument("--weights", default="/tmp/muxnet_digits.weights.h5")
    digits.add_argument("--calibration", type=int, default=100)
    one = kinds.add_parser("classifier", parents=[digits])
    one.add_argument("--images", type=int, default=20)
    one.set_defaults(func=classifier)
    three = kinds.add_parser("qat", parents=[digits])
    three.add_argument("--images", type=int, default=10)
    three.set_defaults(func=qat)
    two = kinds.add_parser("detector")
    two.add_argument("path")
    two.add_argument("--calibration", type=int, default=200)
    two.add_argument("--heldout", type=int, default=300)
    two.add_argument("--images", type=int, default=10)
    two.set_defaults(func=detector)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
