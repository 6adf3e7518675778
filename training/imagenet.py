#!/usr/bin/env python
"""Train a MUXNet from scratch on ImageNet TFRecords with the paper's recipe (see README.md here).

Thin wrapper: the recipe, pipelines, strategy and callbacks live in keras_muxnet.training.
"""

import argparse
import dataclasses

from keras_muxnet.training import jobs, recipes


def parse_args(argv=None):
    defaults = recipes.ImageNetRecipe()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="muxnet_m", help="muxnet_xs, muxnet_s, muxnet_m or muxnet_l")
    parser.add_argument("--train", required=True, help="training TFRecords: a folder or a glob (train-*)")
    parser.add_argument("--val", default=None, help="validation TFRecords: a folder or a glob")
    parser.add_argument("--out", required=True, help="run folder: checkpoint/, backup/, logs/, model.keras")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="per replica (default 32: 8 GPUs x 32 = the paper's 256)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--image-size", type=int, default=defaults.image_size)
    parser.add_argument("--train-images", type=int, default=1_281_167)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--label-offset", type=int, default=0,
                        help="subtract from stored labels (1 for the Inception scripts' 1-based records)")
    parser.add_argument("--learning-rate", type=float, default=defaults.base_learning_rate,
                        help="peak rate per 256 images, scaled by the global batch")
    parser.add_argument("--ema", type=float, default=defaults.ema_momentum, help="0 disables the weight EMA")
    parser.add_argument("--sync-bn", action="store_true", help="all-reduce BatchNorm statistics across replicas")
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_float16 on GPUs, mixed_bfloat16 on CPUs; weights stay float32")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    recipe = dataclasses.replace(recipes.ImageNetRecipe(), base_learning_rate=args.learning_rate,
                                 ema_momentum=args.ema or None)
    jobs.train_imagenet(args.model, args.train, args.val, args.out, batch_size_per_replica=args.batch_size,
                        epochs=args.epochs, train_images=args.train_images,
                        num_classes=args.num_classes, image_size=args.image_size, label_offset=args.label_offset,
                        mixed_precision=args.mixed_precision, seed=args.seed, recipe=recipe,
                        sync_batch_norm=args.sync_bn)


if __name__ == "__main__":
    main()
