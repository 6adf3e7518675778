#!/usr/bin/env python
"""Fine-tune a MUXNet on your own data with the paper's transfer recipe (see README.md here).

Data: TFRecords (image/encoded + image/class/label; a list of labels with --multi-label) or an
image folder with one sub-folder per class. Thin wrapper over keras_muxnet.training.jobs.
"""

import argparse

from keras_muxnet.training import jobs, recipes


def parse_args(argv=None):
    defaults = recipes.TransferRecipe()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="muxnet_m")
    parser.add_argument("--weights", default="imagenet", help="'imagenet', 'none' or a .weights.h5 path")
    parser.add_argument("--train", required=True, help="TFRecords (folder or glob) or an image folder")
    parser.add_argument("--val", default=None)
    parser.add_argument("--num-classes", type=int, required=True)
    parser.add_argument("--train-images", type=int, required=True, help="images in --train (sets the epoch length)")
    parser.add_argument("--out", required=True, help="run folder: checkpoint/, backup/, logs/, model.keras")
    parser.add_argument("--batch-size", type=int, default=64, help="per replica")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--image-size", type=int, default=defaults.image_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--freeze-backbone", action="store_true", help="train only the new head")
    parser.add_argument("--multi-label", action="store_true", help="sigmoid outputs, AUROC (ChestX-Ray14 style)")
    parser.add_argument("--label-offset", type=int, default=0)
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 on GPUs, mixed_bfloat16 on CPUs; weights stay float32")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    jobs.finetune_files(args.model, args.train, args.val, args.num_classes, args.out, args.train_images,
                        weights=None if args.weights.lower() == "none" else args.weights, epochs=args.epochs,
                        batch_size_per_replica=args.batch_size, image_size=args.image_size,
                        freeze_backbone=args.freeze_backbone, learning_rate=args.learning_rate,
                        multi_label=args.multi_label, label_offset=args.label_offset, seed=args.seed,
                        sync_batch_norm=args.sync_bn, mixed_precision=args.mixed_precision)


if __name__ == "__main__":
    main()
