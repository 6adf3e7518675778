"""Which exact form of a 2-channel-group convolution is fastest on this Keras backend?

    KERAS_BACKEND=jax .venv/bin/python dev/bench_grouped_conv.py [--mode train|predict]

Times, interleaved in one run, a one-layer model of MUXNet-m's widest mux-block shape (16 x 20 x
20 x 240 at 160x160 input, 3x3 kernel, 120 groups) in two forms with the same weights: Keras'
own grouped Conv2D (keras.ops.conv with groups, XLA's or PyTorch's grouped kernel) and
keras_muxnet's GroupedConv2D (two depthwise convolutions and a pair swap). Prints the median ms
of each and their ratio; the outputs are checked equal first.
"""

import argparse
import statistics

import numpy as np

from keras_muxnet._keras import BACKEND, keras
from keras_muxnet.latency import time_interleaved
from keras_muxnet.layers.grouped_conv import GroupedConv2D


def one_layer_model(layer_class, channels, size):
    inputs = keras.Input((size, size, channels))
    conv = layer_class(channels, 3, padding="same", groups=channels // 2, use_bias=False,
                       name="conv")
    return keras.Model(inputs, conv(inputs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("train", "predict"), default="train")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--channels", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.size, args.size, args.channels)).astype("float32")
    y = rng.normal(size=x.shape).astype("float32")
    models = {"keras_grouped_conv2d": one_layer_model(keras.layers.Conv2D, args.channels, args.size),
              "depthwise_pair": one_layer_model(GroupedConv2D, args.channels, args.size)}
    models["depthwise_pair"].set_weights(models["keras_grouped_conv2d"].get_weights())
    outputs = [m.predict_on_batch(x) for m in models.values()]
    difference = float(np.max(np.abs(np.asarray(outputs[0]) - np.asarray(outputs[1]))))
    print(f"backend {BACKEND}, {args.mode}, input {x.shape}; max |difference| {difference:.2e}")

    runners = {}
    for name, model in models.items():
        model.compile(optimizer=keras.optimizers.SGD(1e-4), loss="mse")
        if args.mode == "train":
            runners[name] = lambda m=model: m.train_on_batch(x, y)
        else:
            runners[name] = lambda m=model: m.predict_on_batch(x)
    samples = time_interleaved(runners, rounds=args.rounds, runs_per_round=3, warmup=2)
    medians = {name: statistics.median(s) for name, s in samples.items()}
    for name, ms in medians.items():
        print(f"{name:22s} {ms:9.2f} ms")
    print(f"ratio keras_grouped_conv2d / depthwise_pair: "
          f"{medians['keras_grouped_conv2d'] / medians['depthwise_pair']:.2f}")


if __name__ == "__main__":
    main()
