"""`keras-muxnet demo`: the README's main job (the steps live in keras_muxnet.demo)."""


def register(subparsers):
    parser = subparsers.add_parser("demo", help="run the end-to-end demonstration")
    parser.add_argument("--out", default=None, help="folder for the files the demo writes "
                                                    "(default: a temporary folder)")
    parser.set_defaults(func=run)


def run(args):
    from keras_muxnet import demo

    demo.run(args.out)
