"""Would a harder proxy task rank the search's candidates more stably? (issue 12, section 2)

    nice -n 10 .venv/bin/python dev/proxy_tasks.py --task bright --background 0.6 --fill 0.5,1.0 --json OUT

Renders one of three 10-class tasks at 32x32 from scikit-learn digits and scikit-image photos
(training images from the training digits of `training.digits.load_digits(seed=0)`, held-out
images from its held-out digits) and runs `search.evaluation.stability` on random candidates of
`keras-muxnet search`'s space with its short evaluation (the same measure as `search
eval-check`): Kendall's tau of two seeds, median |difference|, the accuracy range.

* digits: the search's task (plain digits, 30% held out), for reference;
* scenes: a square crop around the one digit of a digit scene (`detection.digit_scenes`: a
  random colour on a photo crop, contrast >= --contrast), the digit filling --fill of the side;
* bright: `load_photo_digits` here (--background 0.6 --fill 0.5,1.0 as measured): a light grey
  digit filling --fill of the side at a random place on a photo crop whose brightness is scaled
  by a factor drawn in [min(0.2, B), B], B = --background (0: black).
Results: docs/search_hardware.md ("Harder proxy tasks").
"""

import argparse

import numpy as np

from keras_muxnet._files import write_json


def scene_crops(rng, digits, labels, count, size, fill, contrast):
    from PIL import Image

    from keras_muxnet.detection import digit_scenes

    digit_scenes.MIN_CONTRAST = contrast  # render_scene reads the module's threshold
    photos = digit_scenes._photos()
    images, kept = [], []
    while len(images) < count:
        scene, boxes, found = digit_scenes.render_scene(rng, photos, digits, labels, 64, max_digits=1)
        if not len(found):
            continue
        x0, y0, x1, y1 = boxes[0]
        side = min(max(x1 - x0, y1 - y0) / rng.uniform(*fill), 64)
        left = np.clip(rng.uniform(x1 - side, x0), 0, 64 - side)
        top = np.clip(rng.uniform(y1 - side, y0), 0, 64 - side)
        images.append(np.asarray(Image.fromarray(scene).resize(
            (size, size), Image.BILINEAR, box=(left, top, left + side, top + side)), np.float32))
        kept.append(found[0])
    return np.stack(images), np.array(kept, np.int32)


BACKGROUND = (0.2, 0.6)  # the photo's brightness factor
FILL = (0.5, 1.0)  # the digit image's side / the image's side
DIGIT_GREY = (200.0, 255.0)
TRAIN_IMAGES, HELDOUT_IMAGES = 2560, 2000


def render_digit(rng, photos, digits, size, fill=FILL, background=BACKGROUND):
    """(size x size float32 RGB image, index): one of `digits` (8x8 images, values 0-16), drawn
    at random, on a photo crop."""
    from keras_muxnet.detection.digit_scenes import _background, _resize  # the scenes' own helpers

    image = _background(rng, photos, size)
    image *= rng.uniform(*background) if max(background) > 0 else 0.0
    index, side = int(rng.integers(len(digits))), int(round(size * rng.uniform(*fill)))
    alpha = np.clip(_resize(np.asarray(digits[index], np.float32)[..., None] / 16.0, side), 0, 1)
    y, x = rng.integers(0, size - side + 1, 2)
    image[y:y + side, x:x + side] = (image[y:y + side, x:x + side] * (1 - alpha)
                                     + rng.uniform(*DIGIT_GREY, 3) * alpha)
    return np.clip(image, 0, 255).astype(np.float32), index


def load_photo_digits(size=32, train_count=TRAIN_IMAGES, heldout_count=HELDOUT_IMAGES, seed=0,
                      fill=FILL, background=BACKGROUND):
    """((train images, labels), (held-out images, labels)): N x size x size x 3 float32 RGB in
    [0, 255] (as `training.digits.load_digits(size)` gives them) and int32 labels 0-9."""
    from keras_muxnet.detection.digit_scenes import _photos
    from keras_muxnet.training.digits import load_digits

    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer of at least 8, got {size!r}")
    if train_count < 1 or heldout_count < 1:
        raise ValueError(f"need training and held-out images, got {train_count} and {heldout_count}")
    if not 0 < fill[0] <= fill[1] <= 1 or not 0 <= background[0] <= background[1] <= 1:
        raise ValueError(f"need 0 < fill <= 1 and 0 <= background <= 1 (low, high), got {fill}, {background}")
    photos, rng, out = _photos(), np.random.default_rng(seed), []
    for (images, labels), count in zip(load_digits(seed=seed), (train_count, heldout_count)):
        originals = images[..., 0].astype(np.float32) * (16.0 / 255.0)  # back to the 0-16 digits
        rendered = [render_digit(rng, photos, originals, size, fill, background) for _ in range(count)]
        out.append((np.stack([image for image, _ in rendered]),
                    labels[[index for _, index in rendered]].astype(np.int32)))
    return out[0], out[1]


def task(args):
    from keras_muxnet.training.digits import load_digits

    if args.task == "digits":
        return load_digits(size=32, validation_fraction=0.3, seed=0)
    if args.task == "bright":
        return load_photo_digits(32, args.train, args.heldout, seed=0, fill=args.fill,
                                 background=(min(0.2, args.background), args.background))
    rng = np.random.default_rng(0)
    splits = []
    for (images, labels), count in zip(load_digits(seed=0), (args.train, args.heldout)):
        originals = images[..., 0].astype(np.float32) * (16.0 / 255.0)  # the 0-16 digits
        splits.append(scene_crops(rng, originals, labels, count, 32, args.fill, args.contrast))
    return splits[0], splits[1]


def main():
    from keras_muxnet.cli.search import random_candidates
    from keras_muxnet.search import evaluation

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=("digits", "scenes", "bright"), default="bright")
    parser.add_argument("--fill", type=lambda t: tuple(float(v) for v in t.split(",")), default=(0.5, 1.0))
    parser.add_argument("--background", type=float, default=0.6)
    parser.add_argument("--contrast", type=int, default=80)
    parser.add_argument("--train", type=int, default=2560)
    parser.add_argument("--heldout", type=int, default=2000)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=lambda t: tuple(int(v) for v in t.split(",")), default=(0, 1))
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    build, candidates = random_candidates(32, 0, args.candidates)
    report = evaluation.stability(build, candidates, task(args), evaluation.ShortEvaluation(epochs=args.epochs),
                                   seeds=args.seeds)
    report["task"] = vars(args)
    write_json(args.json, report, indent=1)
    print(f"{args.task}: Kendall's tau {report['kendall_tau']:.3f}, median |difference| "
          f"{report['median_abs_diff']:.2f} points (largest {report['max_abs_diff']:.2f}), accuracies "
          f"span {report['accuracy_range_points']:.1f} points, {report['median_seconds_per_evaluation']:.0f} s "
          f"per evaluation, load {report['load_average_before'][0]:.1f}/{report['load_average_after'][0]:.1f}")


if __name__ == "__main__":
    main()
