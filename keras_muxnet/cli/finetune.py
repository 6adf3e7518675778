"""`keras-muxnet finetune`: train or fine-tune a MUXNet on a real dataset and report held-out accuracy.

    keras-muxnet finetune --dataset digits --model muxnet_xs --weights none --size 32 --epochs 30 --json out.json

`--dataset digits` is scikit-learn's handwritten digits (8x8, upsampled bicubically to --size);
`--dataset DIR` is an image folder with one sub-folder per class (read into memory; for big data
use training/finetune.py with TFRecords). The paper's transfer recipe is used (SGD 0.9, weight
decay 4e-5, clip 5, cosine); flips are off for digits (a mirrored 2 is not a 2).
"""

import argparse
import os
import tempfile

from keras_muxnet._files import write_json
from keras_muxnet.cli._options import weights as weights_argument


def register(subparsers):
    parser = subparsers.add_parser("finetune", help="fine-tune / train a MUXNet on a real dataset, report accuracy")
    parser.add_argument("--dataset", default="digits", help="'digits' or an image folder (one sub-folder per class)")
    parser.add_argument("--model", default="muxnet_xs", help="muxnet_xs, muxnet_s, muxnet_m or muxnet_l")
    parser.add_argument("--weights", default="none",
                        help="'none' (from scratch), 'imagenet' or a .weights.h5 path for the backbone")
    parser.add_argument("--size", type=int, default=32, help="training image size (default 32)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64, help="per replica")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="peak of the cosine schedule (default: the recipe's 0.01 when fine-tuning, "
                             "training.recipes.FROM_SCRATCH_LEARNING_RATE from scratch)")
    parser.add_argument("--warmup-epochs", type=float, default=None,
                        help="linear warm-up before the cosine (default: 1 from scratch, 0 fine-tuning)")
    parser.add_argument("--freeze-backbone", action="store_true", help="train only the new head")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                        help="random horizontal flips (default: on, off for digits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="run folder (checkpoints, backup, model.keras)")
    parser.add_argument("--json", default=None, help="write the results as JSON to this file")
    parser.set_defaults(func=run)


def load_dataset(name, seed, size=None):
    """((x_train, y_train), (x_val, y_val), num_classes) for 'digits' or an image folder."""
    from keras_muxnet.training import digits

    if name == "digits":
        train, val = digits.load_digits(seed=seed)
        return train, val, digits.NUM_CLASSES
    return load_image_folder(name, seed, size=size)


def load_image_folder(directory, seed, validation_fraction=0.2, size=None):
    """A small image folder read into memory, split stratified into train / held-out."""
    import numpy as np
    import tensorflow as tf
    from sklearn.model_selection import train_test_split

    from keras_muxnet.training import data

    paths, labels, class_names = data.list_image_folder(directory)
    images = []
    for path in paths:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        images.append(tf.image.resize(image, (size or 64, size or 64), method="bicubic").numpy())
    images = np.clip(np.stack(images), 0, 255).astype("uint8")
    x_train, x_val, y_train, y_val = train_test_split(images, np.array(labels), test_size=validation_fraction,
                                                      random_state=seed, stratify=labels)
    return (x_train, y_train), (x_val, y_val), len(class_names)


def run(args):
    from keras_muxnet._keras import KERAS_MODE
    from keras_muxnet.training import jobs, recipes

    weights = weights_argument(args.weights)
    flip = args.flip if args.flip is not None else args.dataset != "digits"
    learning_rate = args.learning_rate or (recipes.FROM_SCRATCH_LEARNING_RATE if weights is None else 0.01)
    warmup_epochs = args.warmup_epochs if args.warmup_epochs is not None else (1 if weights is None else 0)
    train, val, num_classes = load_dataset(args.dataset, args.seed, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or tmp
        result = jobs.finetune_arrays(
            args.model, train, val, num_classes, out, weights=weights, epochs=args.epochs,
            batch_size_per_replica=args.batch_size, image_size=args.size, freeze_backbone=args.freeze_backbone,
            flip=flip, learning_rate=learning_rate, seed=args.seed, verbose=1, warmup_epochs=warmup_epochs)
        payload = {"dataset": args.dataset, "model": args.model, "weights": args.weights, "size": args.size,
                   "val_accuracy": result.val_accuracy, "val_loss": result.val_loss, "epochs": result.epochs,
                   "seconds": round(result.seconds, 1), "params": result.params,
                   "train_images": len(train[0]), "val_images": len(val[0]), "learning_rate": learning_rate, "warmup_epochs": warmup_epochs,
                   "keras": KERAS_MODE, "model_path": result.model_path if args.out else None,
                   "val_accuracy_per_epoch": [round(v, 4) for v in result.history.get("val_accuracy", [])]}
    print(f"held-out accuracy {result.val_accuracy:.4f} on {len(val[0])} images after {result.epochs} "
          f"epochs in {result.seconds:.0f} s ({result.params:,d} parameters)")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        write_json(args.json, payload)
    return 0
