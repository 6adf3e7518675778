#!/usr/bin/env python
"""Train SSDLite on PASCAL VOC with the paper's recipe (MUXNet §5.3, Table 2; see README.md here).

Recipe (defaults): trainval 2007 + 2012, 300x300, batch 32 (global), SGD momentum 0.9, L2 weight
decay 5e-4 on kernels, learning rate 0.01 with cosine decay to 0 over 200 epochs, SSD
augmentation (keras_muxnet.detection.voc), MirroredStrategy over the visible GPUs; the ImageNet
backbone weights when they exist (--backbone-weights). Writes OUT/checkpoint/last_good.weights.h5
after every finite epoch, OUT/backup/ (rerun the same command to resume), OUT/detector.keras and
OUT/result.json with the VOC2007-test 11-point mAP (and COCO AP) at the end.
"""

import argparse
import json
import os

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voc-root", required=True, help="the VOCdevkit folder (VOC2007/, VOC2012/)")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--backbone", default="muxnet_m", help="muxnet_xs/s/m/l or mobilenet_v2")
    parser.add_argument("--backbone-weights", default="none",
                        help="'imagenet', 'none' or a .weights.h5 file for the backbone")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32, help="global, over all replicas")
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--image-size", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from keras_muxnet._files import write_json
    from keras_muxnet._keras import keras
    from keras_muxnet.detection import SSDLite, evaluation, voc
    from keras_muxnet.cli._options import weights as weights_argument
    from keras_muxnet.training import callbacks, distribute, recipes, run, schedules

    train_records = voc.load_records(args.voc_root, voc.TRAIN_SETS)
    test_records = voc.load_records(args.voc_root, voc.TEST_SETS)
    strategy = distribute.make_strategy()
    distribute.check_divisible(args.batch_size, strategy)
    out = distribute.worker_directory(args.out)
    os.makedirs(out, exist_ok=True)
    weights = weights_argument(args.backbone_weights)
    keras.utils.set_random_seed(args.seed)
    with strategy.scope():
        model = SSDLite(args.backbone, num_classes=len(voc.CLASSES), input_size=args.image_size,
                        backbone_weights=weights)
        recipes.add_weight_decay(model, args.weight_decay)
        steps = len(train_records) // args.batch_size
        schedule = schedules.cosine_schedule(args.learning_rate, steps * args.epochs)
        model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9))
    data = voc.to_dataset(train_records, model, args.batch_size, training=True, seed=args.seed)
    model.fit(data, epochs=args.epochs, verbose=2, callbacks=[
        callbacks.GuardedCheckpoint(os.path.join(out, "checkpoint", "last_good.weights.h5")),
        callbacks.backup_and_restore(os.path.join(out, "backup"))])
    images = voc.to_dataset(test_records, model, args.batch_size).map(lambda x, y: x)
    predictions = model.predict(images, verbose=0)
    truth, found = [], evaluation.split_batch(predictions)
    for (_, record), pred in zip(test_records, found):
        width, height = record["size"]
        scale = np.array([width, height, width, height], np.float32) / args.image_size
        pred["boxes"] = pred["boxes"] * scale  # back to the original image's pixels
        truth.append(record)
    result = {"voc07_map50": evaluation.voc_map(truth, found, len(voc.CLASSES))["map"],
              **evaluation.coco_map(truth, found), "epochs": args.epochs,
              "backbone": args.backbone, "image_size": args.image_size}
    if distribute.is_chief():
        run.export(model, os.path.join(out, "detector.keras"))
        write_json(os.path.join(out, "result.json"), result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
