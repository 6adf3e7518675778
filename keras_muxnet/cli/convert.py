"""`keras-muxnet convert CHECKPOINT --model V --output OUT.weights.h5 [--install]`: turn the
authors' PyTorch checkpoint into Keras weights, optionally into the `weights="imagenet"` cache."""

import argparse
import os
import tempfile

PUBLISHED_VARIANTS = ("muxnet_m", "muxnet_l")


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert the authors' PyTorch checkpoint to Keras weights",
        description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoint", help="PyTorch checkpoint (.pth, .pt, .tar, .init, "
                                           ".safetensors): a training checkpoint or a state_dict")
    parser.add_argument("--model", required=True, choices=PUBLISHED_VARIANTS,
                        help="the variant the checkpoint holds")
    parser.add_argument("--output", help="where to write the Keras weights (must end with "
                                         ".weights.h5; its folder must exist)")
    parser.add_argument("--install", action="store_true",
                        help="also put the result in the cache used by weights='imagenet' "
                             "($KERAS_MUXNET_HOME, default ~/.keras/models/keras_muxnet)")
    parser.add_argument("--use-state-dict", action="store_true",
                        help="take 'state_dict' instead of the EMA weights 'state_dict_ema'")
    parser.set_defaults(func=run)


def run(args):
    from keras_muxnet import conversion

    if not args.output and not args.install:
        raise ValueError("nothing to do: give --output OUT.weights.h5, --install, or both")
    with tempfile.TemporaryDirectory() as work:  # holds the file when only installing
        output = args.output or os.path.join(work, f"{args.model}.weights.h5")
        result = conversion.convert_checkpoint(args.checkpoint, args.model, output,
                                               use_state_dict=args.use_state_dict)
        _report(result, written=bool(args.output))
        if args.install:
            _install(result, args.model)
    return 0


def _report(result, written=True):
    print(f"read {result.source} (sha256 {result.source_sha256}): used '{result.entry}'"
          + (f", arch {result.arch}" if result.arch else ""))
    if written:
        print(f"wrote {result.path} (sha256 {result.sha256})")


def _install(result, variant):
    from keras_muxnet import weights_cache

    target = weights_cache.install(result.path, variant, source=os.path.abspath(result.source),
                                   source_sha256=result.source_sha256)
    print(f"installed {target} (sha256 {result.sha256}); weights='imagenet' now loads it")


def _parity_dir():
    """The reference checkpoints: $KERAS_MUXNET_PARITY_DIR, else shared/parity beside the repo."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.environ.get("KERAS_MUXNET_PARITY_DIR") or os.path.join(
        os.path.dirname(repo), "shared", "parity")


def step_imagenet_weights(ctx):
    """Convert an authors'-format checkpoint, install it, load weights='imagenet', check it."""
    import numpy as np

    from keras_muxnet import weights_cache
    from keras_muxnet.imagenet import decode_predictions
    from keras_muxnet.models import MUXNetM

    checkpoint = os.path.join(_parity_dir(), "muxnet_m_seed0.pth")
    if not os.path.isfile(checkpoint):
        print(f"skipped: no reference checkpoint at {checkpoint} (set KERAS_MUXNET_PARITY_DIR)")
        return
    home = os.path.join(ctx["out"], "weights_cache")
    previous = os.environ.get(weights_cache.HOME_ENV)
    os.environ[weights_cache.HOME_ENV] = home
    try:
        code = run(argparse.Namespace(
            checkpoint=checkpoint, model="muxnet_m", install=True, use_state_dict=False,
            output=os.path.join(ctx["out"], "muxnet_m.weights.h5")))
        if code:
            raise RuntimeError("conversion failed")
        model = MUXNetM(weights="imagenet", include_preprocessing=False, classifier_activation=None)
        reference = np.load(checkpoint.replace(".pth", ".npz"))
        logits = np.asarray(model(reference["input_nchw"].transpose(0, 2, 3, 1), training=False))
        diff = float(np.abs(logits - reference["logits"]).max())
        print(f"MUXNetM(weights='imagenet') from {home}: max |logits - PyTorch reference| = "
              f"{diff:.2e} (limit 1e-4)")
        top = decode_predictions(logits, top=1)[0][0]
        print(f"decode_predictions works offline: top class {top[0]} '{top[1]}' "
              f"(random reference weights, so the class means nothing)")
        if diff > 1e-4:
            raise RuntimeError(f"converted weights differ from the reference by {diff}")
    finally:
        if previous is None:
            os.environ.pop(weights_cache.HOME_ENV, None)
        else:
            os.environ[weights_cache.HOME_ENV] = previous

