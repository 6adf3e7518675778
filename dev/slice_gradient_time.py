"""How much does the concatenated gradient of channel slices save in a training step?

    .venv/bin/python dev/slice_gradient_time.py [--batch-size 16] [--rounds 15]

Builds `keras-muxnet detect train`'s default detector (SSDLite on MUXNet-xs, stride8_fpn, 192 px)
twice from one seed: once with `backend_ops.channel_slices` (slices whose gradient is one
concatenation) and once with plain slices (TensorFlow's default gradient: a zero tensor of the
input's size per slice, summed). Checks that one training step gives both the same weights, then
times `train_on_batch` of the two interleaved and prints the median seconds per step and their
ratio. TensorFlow backend only.
"""

import argparse
import statistics
import time

import numpy as np

from keras_muxnet._keras import keras
from keras_muxnet.cli.detect import digit_scenes_detector
from keras_muxnet.detection import SSDLoss, digit_scenes, fitting
from keras_muxnet.layers import backend_ops


def plain_slices(x, sizes):
    parts, start = [], 0
    for size in sizes:
        parts.append(x[..., start:start + size])
        start += size
    return parts


def compiled_detector(slices, batch):
    """The default detector, seeded, with its training step traced using `slices`."""
    fast = backend_ops.channel_slices
    backend_ops.channel_slices = slices
    try:
        keras.utils.set_random_seed(0)
        model = digit_scenes_detector()
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=SSDLoss())
        model.train_on_batch(*batch)
    finally:
        backend_ops.channel_slices = fast
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    scenes = digit_scenes.load_digit_scenes(args.batch_size, 1, seed=0)[0]
    batch = next(iter(fitting.make_dataset(digit_scenes_detector(), *scenes,
                                           batch_size=args.batch_size)))
    models = {"concatenated gradient": compiled_detector(backend_ops.channel_slices, batch),
              "plain slices": compiled_detector(plain_slices, batch)}
    weights = [m.get_weights() for m in models.values()]
    largest = max(float(np.max(np.abs(a - b))) for a, b in zip(*weights))
    print(f"after one step, largest weight difference between the two: {largest:.2e}")
    seconds = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(*batch)
            seconds[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    for name, median in medians.items():
        print(f"{name:>22}: {median:.3f} s per step of {args.batch_size}")
    ratio = medians["concatenated gradient"] / medians["plain slices"]
    print(f"ratio concatenated / plain: {ratio:.3f}")


if __name__ == "__main__":
    main()
