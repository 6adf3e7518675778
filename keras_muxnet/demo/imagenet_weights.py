"""Demo step: the ImageNet-weights path end to end on the authors' reference network.

The repository carries a compact reference of the authors' PyTorch MUXNet-m
(tests/data/parity/muxnet_m_seeded0.npz: weights regenerated from a seed, the authors' logits
stored). The step writes it as a checkpoint in the authors' training format, converts and
installs it exactly as `keras-muxnet convert CHECKPOINT --model muxnet_m --install` does, then
loads `MUXNetM(weights="imagenet")` and checks it against the authors' logits.
"""

import os
import pathlib

REFERENCE = (pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "parity"
             / "muxnet_m_seeded0.npz")
MAX_DIFF = 1e-4


def step_imagenet_weights(ctx):
    """Convert an authors'-format checkpoint, install it, load weights='imagenet', check it."""
    import numpy as np

    from keras_muxnet import imagenet_cache
    from keras_muxnet.checkpoint_conversion import convert_checkpoint
    from keras_muxnet.imagenet import decode_predictions
    from keras_muxnet.models import MUXNetM
    from keras_muxnet.testing import load_model_reference, write_training_checkpoint

    if not REFERENCE.is_file():
        raise RuntimeError(f"the reference data {REFERENCE} ships with the repository's tests; "
                           f"run the demo from a clone of the repository")
    reference = load_model_reference(REFERENCE)
    checkpoint = write_training_checkpoint(reference, os.path.join(ctx["out"], "muxnet_m.pth"))
    print(f"wrote {checkpoint}: the authors' reference MUXNet-m in their training format "
          f"(weights regenerated from {REFERENCE.name})")
    home = os.path.join(ctx["out"], "weights_cache")
    previous = os.environ.get(imagenet_cache.HOME_ENV)
    os.environ[imagenet_cache.HOME_ENV] = home
    try:
        result = convert_checkpoint(checkpoint, "muxnet_m",
                                    os.path.join(ctx["out"], "muxnet_m.weights.h5"))
        installed = imagenet_cache.install(result.path, "muxnet_m", source=checkpoint,
                                           source_sha256=result.source_sha256)
        print(f"{imagenet_cache.convert_command('muxnet_m', 'muxnet_m.pth')}: used "
              f"'{result.entry}', installed {installed} (sha256 {result.sha256[:16]}...)")
        model = MUXNetM(weights="imagenet", include_preprocessing=False, classifier_activation=None)
        logits = np.asarray(model(reference.input_nhwc, training=False))
        diff = float(np.abs(logits - reference.logits).max())
        print(f"MUXNetM(weights='imagenet') from {home}: max |logits - PyTorch reference| = "
              f"{diff:.2e} (limit {MAX_DIFF:g})")
        top = decode_predictions(logits, top=1)[0][0]
        print(f"decode_predictions works offline: top class {top[0]} '{top[1]}' "
              f"(random reference weights, so the class means nothing)")
        if diff > MAX_DIFF:
            raise RuntimeError(f"converted weights differ from the reference by {diff}")
    finally:
        if previous is None:
            os.environ.pop(imagenet_cache.HOME_ENV, None)
        else:
            os.environ[imagenet_cache.HOME_ENV] = previous
