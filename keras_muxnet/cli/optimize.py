"""`keras-muxnet optimize qat-check`: QAT int8 vs PTQ int8 of one model trained on the digits.

    TF_USE_LEGACY_KERAS=1 keras-muxnet optimize qat-check --model muxnet_xs --json qat.json

Trains the model briefly from scratch on scikit-learn's digits, exports its PTQ int8 file,
fine-tunes a quantization-aware copy and exports its int8 file, then prints the latency ratio
(interleaved, LiteRT, 1 thread), how far the QAT int8 file is from its QAT model, both files'
top-1 agreement with the float model and their XNNPACK-slow operators
(`keras_muxnet.optimize.qat_check`). tfmot needs tf_keras: run it with TF_USE_LEGACY_KERAS=1.
"""

from keras_muxnet._files import check_writable


def register(subparsers):
    parser = subparsers.add_parser("optimize", help="model optimization checks (tfmot, tf_keras)")
    checks = parser.add_subparsers(dest="check", required=True)
    qat = checks.add_parser("qat-check", help="QAT int8 vs PTQ int8 on the digits: latency, "
                                              "drift from the QAT model, agreement, slow ops")
    qat.add_argument("--model", default="muxnet_xs",
                     help="a MUXNet variant, optionally with ablations (muxnet_xs+relu)")
    qat.add_argument("--size", type=int, default=32, help="digit image size (default 32)")
    qat.add_argument("--epochs", type=int, default=4, help="float training epochs")
    qat.add_argument("--qat-epochs", type=int, default=1)
    qat.add_argument("--calibration", type=int, default=100,
                     help="training images that calibrate both int8 files")
    qat.add_argument("--logit-range", type=float, default=None, metavar="L",
                     help="hold the QAT model's logits in [-L, L] (the int8 output's step is "
                          "2L/255) instead of their calibrated range")
    qat.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    qat.add_argument("--runs-per-round", type=int, default=50,
                     help="invocations per round (an int8 digit model runs in well under 1 ms)")
    qat.add_argument("--seed", type=int, default=0)
    qat.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    qat.set_defaults(func=run_qat_check)


def run_qat_check(args):
    import dataclasses

    from keras_muxnet import ablations
    from keras_muxnet._files import write_json
    from keras_muxnet._keras import LEGACY_KERAS, keras
    from keras_muxnet.models import MUXNet
    from keras_muxnet.optimize import qat_check
    from keras_muxnet.training.digits import NUM_CLASSES, load_digits

    if not LEGACY_KERAS:
        raise ValueError("qat-check needs tf_keras (tensorflow-model-optimization does not work "
                         "with Keras 3): run it as TF_USE_LEGACY_KERAS=1 keras-muxnet optimize "
                         "qat-check ...")
    if args.logit_range is not None and not args.logit_range > 0:
        raise ValueError(f"--logit-range must be positive, got {args.logit_range}")
    if args.json:
        check_writable(args.json)
    spec = ablations.resolve(args.model)
    train, held_out = load_digits(size=args.size, seed=args.seed)
    keras.utils.set_random_seed(args.seed)
    model = MUXNet(spec, weights=None, input_shape=(args.size, args.size, 3),
                   classes=NUM_CLASSES, classifier_activation=None)
    result = qat_check.check(model, train, held_out, epochs=args.epochs,
                             qat_epochs=args.qat_epochs, calibration=args.calibration,
                             rounds=args.rounds, runs_per_round=args.runs_per_round,
                             logit_range=None if args.logit_range is None else
                             (-args.logit_range, args.logit_range))
    print(qat_check.format_check(result))
    if args.json:
        print(f"wrote {write_json(args.json, dataclasses.asdict(result))}")
    return 0
