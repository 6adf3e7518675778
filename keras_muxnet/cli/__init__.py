"""The `keras-muxnet` command: MUXNet models, conversion, export, training and search.

Each subcommand lives in its own module of this package and exposes `register(subparsers)`;
modules are found automatically (those starting with `_` are shared helpers).
"""

import argparse
import contextlib
import importlib
import pkgutil
import sys

from keras_muxnet.cli._quiet import native_logs_filtered


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-muxnet", description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's own start-up and info messages")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if not module.startswith("_"):
            importlib.import_module(f"{__name__}.{module}").register(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    quiet = contextlib.nullcontext() if args.verbose else native_logs_filtered()
    with quiet:
        try:
            return args.func(args) or 0
        except (ValueError, FileNotFoundError) as error:
            print(f"keras-muxnet {args.command}: error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
