"""Draw detections on an image: coloured boxes with "label score" captions, saved as PNG."""

import numpy as np

from keras_muxnet._files import atomic_output

PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190))


def draw(image, boxes, labels, scores, class_names=None):
    """A PIL image of `image` (H, W, 3 uint8) with pixel xyxy `boxes` drawn on it."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.asarray(image, np.uint8))
    pen = ImageDraw.Draw(canvas)
    for box, label, score in zip(np.asarray(boxes), np.asarray(labels), np.asarray(scores)):
        colour = PALETTE[int(label) % len(PALETTE)]
        name = class_names[int(label)] if class_names else str(int(label))
        x1, y1, x2, y2 = (float(v) for v in box)
        pen.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        caption = f"{name} {float(score):.2f}"
        left, top, right, bottom = pen.textbbox((x1, y1), caption)
        lift = bottom - top + 2
        pen.rectangle([x1, y1 - lift, x1 + right - left + 4, y1], fill=colour)
        pen.text((x1 + 2, y1 - lift), caption, fill=(0, 0, 0))
    return canvas


def save(path, image, boxes, labels, scores, class_names=None):
    """Draw and write the picture all-or-nothing to `path` (.png)."""
    picture = draw(image, boxes, labels, scores, class_names)
    with atomic_output(path, suffix=".png") as tmp:
        picture.save(tmp, format="PNG")
    return path
