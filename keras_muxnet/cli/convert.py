"""`keras-muxnet convert CHECKPOINT --model V --out OUT.weights.h5 [--install]`: turn the
authors' PyTorch checkpoint into Keras weights, optionally into the `weights="imagenet"` cache."""

import os
import tempfile

from keras_muxnet.authors_weights import PUBLISHED


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert the authors' PyTorch checkpoint to Keras weights",
        description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoint", help="PyTorch checkpoint (.pth, .pt, .tar, .init, "
                                           ".safetensors): a training checkpoint or a state_dict")
    parser.add_argument("--model", required=True, choices=sorted(PUBLISHED),
                        help="the variant the checkpoint holds")
    parser.add_argument("--out", help="where to write the Keras weights (must end with "
                                         ".weights.h5; its folder must exist)")
    parser.add_argument("--install", action="store_true",
                        help="also put the result in the cache used by weights='imagenet' "
                             "($KERAS_MUXNET_HOME, default ~/.keras/models/keras_muxnet)")
    parser.add_argument("--use-state-dict", action="store_true",
                        help="take 'state_dict' instead of the EMA weights 'state_dict_ema'")
    parser.set_defaults(func=run)


def run(args):
    from keras_muxnet.checkpoint_conversion import convert_checkpoint

    if not args.out and not args.install:
        raise ValueError("nothing to do: give --out OUT.weights.h5, --install, or both")
    with tempfile.TemporaryDirectory() as work:  # holds the file when only installing
        output = args.out or os.path.join(work, f"{args.model}.weights.h5")
        result = convert_checkpoint(args.checkpoint, args.model, output,
                                    use_state_dict=args.use_state_dict)
        _report(result, written=bool(args.out))
        if args.install:
            _install(result, args.model)
    return 0


def _report(result, written=True):
    print(f"read {result.source} (sha256 {result.source_sha256}): used '{result.entry}'"
          + (f", arch {result.arch}" if result.arch else ""))
    if written:
        print(f"wrote {result.path} (sha256 {result.sha256})")


def _install(result, variant):
    from keras_muxnet import imagenet_cache

    target = imagenet_cache.install(result.path, variant, source=os.path.abspath(result.source),
                                   source_sha256=result.source_sha256)
    print(f"installed {target} (sha256 {result.sha256}); weights='imagenet' now loads it")
