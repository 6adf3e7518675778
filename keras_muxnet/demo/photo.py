"""Demo step: a real photo through MUXNet-m, and a `.keras` save and reload."""

import os
import time

import numpy as np


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
    from keras_muxnet.training.run import export

    model = MUXNetM(weights=None)
    photo = sample_photo()
    model(photo, training=False)  # warm-up: builds the graph
    start = time.perf_counter()
    probs = np.asarray(model(photo, training=False))
    print(f"forward pass of a {photo.shape[1]}x{photo.shape[2]} photo (eager, after warm-up): "
          f"{(time.perf_counter() - start) * 1e3:.0f} ms, probabilities sum to {probs.sum():.4f}")
    path = os.path.join(ctx["out"], "muxnet_m.keras")
    export(model, path)  # model.save, written all or nothing
    reloaded = keras.models.load_model(path)
    diff = float(np.abs(np.asarray(reloaded(photo, training=False)) - probs).max())
    print(f"saved {path} ({os.path.getsize(path) / 1e6:.1f} MB), reloaded: max |difference| {diff:.2e}")
    if diff > 1e-6:
        raise RuntimeError(f"the reloaded model differs by {diff}")
