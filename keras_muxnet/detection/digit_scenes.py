"""Digit scenes: a small detection task built from images that ship in scikit-learn and scikit-image.

Recipe (issue 11): a scene is a square crop of one of scikit-image's bundled sample photos,
resized to `size` pixels, with 1 to `max_digits` scikit-learn digits pasted on it. A digit's 8x8
image / 16 is resized bilinearly to a square of 24-96 pixels (scaled with `size` / 192) and used
as the alpha mask of a random solid colour blended into the background; its box is the tight
box of the mask's pixels above 0.5, its label the digit's value (0-9). Additions of ours, to keep
every object findable: a digit may not overlap an earlier one's box (up to 50 placement tries,
then the scene keeps fewer digits), and the colour is redrawn (up to 20 times) until it differs
from the mean of the background under it by at least 80 (sum over RGB of absolute differences).
Splits: training scenes use the training digits of `training.digits.load_digits(seed)` and the
random stream `seed`; held-out scenes use its held-out digits and the stream `seed + 1`, so no
digit image appears in both. Backgrounds are random crops of the same photos in both.
"""

import numpy as np

from keras_muxnet.detection.boxes import check_boxes

NUM_CLASSES = 10
DEFAULT_SIZE = 192
MIN_DIGIT, MAX_DIGIT = 24, 96  # at DEFAULT_SIZE
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
          "retina", "camera", "coins", "moon", "brick", "grass", "gravel")
MIN_CONTRAST = 80


def _photos():
    import skimage.data

    out = []
    for name in PHOTOS:
        image = np.asarray(getattr(skimage.data, name)())
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        out.append(image[..., :3].astype(np.uint8))
    return out


def _resize(image, size):
    """Bilinear resize of an (h, w, c) float image to (size, size, c), channel by channel."""
    from PIL import Image

    image = np.asarray(image, np.float32)
    return np.stack([np.asarray(Image.fromarray(image[..., c], mode="F").resize(
        (size, size), Image.BILINEAR)) for c in range(image.shape[-1])], axis=-1)


def _background(rng, photos, size):
    photo = photos[rng.integers(len(photos))]
    h, w = photo.shape[:2]
    side = int(rng.integers(min(h, w) // 3, min(h, w) + 1))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    return _resize(photo[y:y + side, x:x + side], size)


def _overlaps(box, boxes):
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes)


def render_scene(rng, photos, digit_images, digit_labels, size=DEFAULT_SIZE, max_digits=4):
    """One scene: (uint8 image (size, size, 3), xyxy pixel boxes (n, 4), labels (n,))."""
    scene = _background(rng, photos, size)
    boxes, labels = [], []
    low, high = (max(4, round(v * size / DEFAULT_SIZE)) for v in (MIN_DIGIT, MAX_DIGIT))
    for _ in range(int(rng.integers(1, max_digits + 1))):
        index = int(rng.integers(len(digit_images)))
        side = int(rng.integers(low, min(high, size) + 1))
        alpha = np.clip(_resize(digit_images[index][..., None] / 16.0, side)[..., 0], 0, 1)
        rows, cols = np.nonzero(alpha > 0.5)
        if not len(rows):
            continue
        for _ in range(50):
            y, x = int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1))
            box = [x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1]
            if not _overlaps(box, boxes):
                break
        else:
            continue
        patch = scene[y:y + side, x:x + side]
        under = patch.reshape(-1, 3).mean(axis=0)
        for _ in range(20):
            colour = rng.uniform(0, 255, 3)
            if np.abs(colour - under).sum() >= MIN_CONTRAST:
                break
        scene[y:y + side, x:x + side] = patch * (1 - alpha[..., None]) + colour * alpha[..., None]
        boxes.append(box)
        labels.append(int(digit_labels[index]))
    image = np.clip(np.round(scene), 0, 255).astype(np.uint8)
    boxes, labels = check_boxes(np.array(boxes, np.float32).reshape(-1, 4), labels, NUM_CLASSES,
                                size, size, where="digit scene")
    return image, boxes, labels


def load_digit_scenes(train_count=2000, heldout_count=300, size=DEFAULT_SIZE, max_digits=4, seed=0):
    """(train, held-out), each (images (N, size, size, 3) uint8, [boxes (n, 4)], [labels (n,)])."""
    from keras_muxnet.training.digits import load_digits

    if size < 32:
        raise ValueError(f"digit scenes need size >= 32 pixels, got {size}")
    photos = _photos()
    out = []
    for (images, labels), count, stream in zip(load_digits(seed=seed), (train_count, heldout_count),
                                               (seed, seed + 1)):
        grey = images[..., 0].astype(np.float32) * (16.0 / 255.0)  # back to the 0-16 originals
        rng = np.random.default_rng(stream)
        scenes = [render_scene(rng, photos, grey, labels, size, max_digits) for _ in range(count)]
        out.append((np.stack([s[0] for s in scenes]).reshape(-1, size, size, 3).astype(np.uint8),
                    [s[1] for s in scenes], [s[2] for s in scenes]))
    return out[0], out[1]
