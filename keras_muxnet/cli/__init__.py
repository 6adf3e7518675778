"""The `keras-muxnet` command. Each subcommand lives in its own module of this package and
exposes `register(subparsers)`; modules are found automatically."""

import argparse
import importlib
import os
import pkgutil
import sys


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-muxnet", description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if not module.startswith("_"):
            importlib.import_module(f"{__name__}.{module}").register(subparsers)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError) as error:
        print(f"keras-muxnet {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
