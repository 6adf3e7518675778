"""`keras-muxnet demo`: the README's main job, one step after another, each printing what it
checked. Steps of later features (weights, fine-tuning, export) join the STEPS list."""

import os
import tempfile
import time

import numpy as np

from keras_muxnet.cli.convert import step_imagenet_weights
from keras_muxnet.cli.search import step_search_benchmark
from keras_muxnet.export.demo import step_export_int8
from keras_muxnet.training.demo import step_finetune


def register(subparsers):
    parser = subparsers.add_parser("demo", help="run the end-to-end demonstration")
    parser.add_argument("--out", default=None, help="folder for the files the demo writes "
                                                    "(default: a temporary folder)")
    parser.set_defaults(func=run)


def step_profiles(ctx):
    """Build every variant and compare its size and cost with the paper's Table 1."""
    from keras_muxnet.architectures import SPECS
    from keras_muxnet.cli.info import format_table, profile_row

    print(format_table([profile_row(name) for name in SPECS]))


def sample_photo(size=224):
    """A real photo that ships with scikit-image (a cat), resized to size x size, RGB 0-255."""
    import tensorflow as tf
    from skimage import data

    photo = data.chelsea()
    return tf.image.resize(photo[None].astype("float32"), (size, size), method="bicubic").numpy()


def step_photo_and_save(ctx):
    """Forward a real photo through MUXNet-m, save as .keras, reload, compare outputs."""
    from keras_muxnet._keras import keras
    from keras_muxnet.models import MUXNetM

    model = MUXNetM(weights=None)
    photo = sample_photo()
    model(photo, training=False)  # warm-up: builds the graph
    start = time.perf_counter()
    probs = np.asarray(model(photo, training=False))
    print(f"forward pass of a {photo.shape[1]}x{photo.shape[2]} photo (eager, after warm-up): "
          f"{(time.perf_counter() - start) * 1e3:.0f} ms, probabilities sum to {probs.sum():.4f}")
    path = os.path.join(ctx["out"], "muxnet_m.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    diff = float(np.abs(np.asarray(reloaded(photo, training=False)) - probs).max())
    print(f"saved {path} ({os.path.getsize(path) / 1e6:.1f} MB), reloaded: max |difference| {diff:.2e}")
    if diff > 1e-6:
        raise RuntimeError(f"the reloaded model differs by {diff}")


STEPS = [step_profiles, step_photo_and_save, step_imagenet_weights, step_finetune,
         step_export_int8, step_search_benchmark]


def run(args):
    with tempfile.TemporaryDirectory() as tmp:
        ctx = {"out": args.out or tmp}
        os.makedirs(ctx["out"], exist_ok=True)
        for number, step in enumerate(STEPS, 1):
            print(f"\n== {number}. {step.__doc__.splitlines()[0]}")
            step(ctx)
    print("\ndemo finished")
