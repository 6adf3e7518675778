"""`keras-muxnet benchmark MODEL... --vs MobileNetV3Large`: latency side by side, with ratios."""

import argparse

from keras_muxnet.cli._options import add_quantize, quantize


def register(subparsers):
    parser = subparsers.add_parser(
        "benchmark", help="latency of MUXNets vs a keras.applications peer, measured interleaved")
    parser.add_argument("models", nargs="+", help="MUXNet variants (muxnet_m, m, ...), ablations "
                                                  "of one (muxnet_m+relu+no-se+depthwise-mux) or "
                                                  "peers (MobileNetV3Large, MobileNetV2, ...)")
    parser.add_argument("--vs", default="MobileNetV3Large", help="reference model for ratio_vs")
    parser.add_argument("--runtime", choices=("tflite", "keras"), default="tflite")
    add_quantize(parser)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--runs-per-round", type=int, default=10)
    parser.add_argument("--mode", choices=("predict", "train"), default="predict",
                        help="keras runtime: time predict_on_batch or train_on_batch")
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    parser.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto",
                        help="keras runtime: model.compile(jit_compile=...); Keras' default auto")
    parser.add_argument("--rewrite", action=argparse.BooleanOptionalAction, default=None,
                        help="apply the export-time inference rewrite first (default: yes for "
                             "tflite, no for keras, which times the model as built)")
    parser.add_argument("--json", metavar="OUT", help="write the records as a JSON list")
    parser.set_defaults(func=run)


def run(args):
    from keras_muxnet import latency

    records = latency.benchmark(args.models, vs=args.vs, runtime=args.runtime,
                                  quantize=quantize(args), threads=args.threads, batch=args.batch,
                                  rounds=args.rounds, runs_per_round=args.runs_per_round,
                                  rewrite=args.rewrite, mode=args.mode, size=args.size,
                                  jit_compile=args.jit_compile)
    what = f"{args.mode}, jit_compile {args.jit_compile}, " if args.runtime == "keras" else ""
    print(f"\n{latency.machine()}; {args.threads} thread(s), batch {args.batch}, "
          f"{args.size}x{args.size}, {what}random weights; ratio = median / {args.vs}'s median")
    print(latency.format_table(records))
    if args.json:
        print(f"wrote {latency.write_records(records, args.json)}")
