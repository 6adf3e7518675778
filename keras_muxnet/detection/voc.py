"""PASCAL VOC in the VOCdevkit layout, to tf.data, with SSD's augmentation.

Layout: `<root>/VOC2007/{JPEGImages/<id>.jpg, Annotations/<id>.xml, ImageSets/Main/<split>.txt}`
(and VOC2012 alike). The paper's sets: trainval 2007 + 2012 for training, test 2007 for
evaluation (`TRAIN_SETS`, `TEST_SETS`).
Boxes: VOC's 1-based inclusive pixel indices (xmin, ymin, xmax, ymax) become continuous pixel
xyxy (xmin - 1, ymin - 1, xmax, ymax). `difficult` objects are kept with their flag: training
uses them as ordinary objects (as TF's object-detection VOC pipeline does by default),
evaluation ignores them (`evaluation`).
Augmentation (SSD, Liu et al. 2016, §2.2/3.6), in this order, all in TF ops:
- photometric: brightness +-32, contrast and saturation x[0.5, 1.5], hue +-18 degrees, each
  with probability 0.5;
- expand (p 0.5): the image on a canvas 1-4x its size, filled with the mean colour;
- random crop: one of {whole image, min IoU 0.1, 0.3, 0.5, 0.7, 0.9} at random; 32 candidate
  crops of 0.3-1 of each side with aspect in [0.5, 2]; the first one that overlaps some object
  by the min IoU and contains some object's centre wins (else the whole image); objects whose
  centres fall outside are dropped, the others clipped;
- horizontal flip (p 0.5); then resize to the model's input size.
"""

import os
import xml.etree.ElementTree as ET

import numpy as np
import tensorflow as tf

CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
           "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
           "train", "tvmonitor")
TRAIN_SETS = (("2007", "trainval"), ("2012", "trainval"))
TEST_SETS = (("2007", "test"),)
MIN_IOUS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)  # 0.0: keep the whole image
CROP_TRIES = 32
MEAN_RGB = (123.0, 117.0, 104.0)


def read_annotation(path):
    """{"boxes": (n, 4) xyxy float32, "labels": (n,), "difficult": (n,) bool, "size": (w, h)}."""
    try:
        root = ET.parse(path).getroot()
        size = root.find("size")
        width, height = int(size.find("width").text), int(size.find("height").text)
        boxes, labels, difficult = [], [], []
        for obj in root.iter("object"):
            name = obj.find("name").text.strip()
            if name not in CLASSES:
                raise ValueError(f"unknown class {name!r}")
            box = obj.find("bndbox")
            xmin, ymin, xmax, ymax = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            flag = obj.find("difficult")
            boxes.append([xmin - 1, ymin - 1, xmax, ymax])
            labels.append(CLASSES.index(name))
            difficult.append(flag is not None and flag.text.strip() == "1")
    except (ET.ParseError, AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"malformed VOC annotation {path}: {error}") from None
    boxes = np.array(boxes, np.float32).reshape(-1, 4)
    bad = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]) | (boxes[:, 0] < 0) \
        | (boxes[:, 1] < 0) | (boxes[:, 2] > width) | (boxes[:, 3] > height)
    if bad.any():
        raise ValueError(f"malformed VOC annotation {path}: box {boxes[bad][0].tolist()} is empty "
                         f"or outside the {width}x{height} image")
    return {"boxes": boxes, "labels": np.array(labels, np.int32),
            "difficult": np.array(difficult, bool), "size": (width, height)}


def load_records(root, sets=TRAIN_SETS):
    """[(jpeg path, annotation dict)] for the (year, split) sets under a VOCdevkit folder."""
    records = []
    for year, split in sets:
        folder = os.path.join(root, f"VOC{year}")
        for sub in ("JPEGImages", "Annotations"):
            if not os.path.isdir(os.path.join(folder, sub)):
                raise FileNotFoundError(f"{folder} has no {sub} folder (expected the VOCdevkit layout)")
        listing = os.path.join(folder, "ImageSets", "Main", f"{split}.txt")
        if not os.path.isfile(listing):
            raise FileNotFoundError(f"no image list {listing}")
        with open(listing) as f:
            ids = [line.split()[0] for line in f if line.strip()]
        for image_id in ids:
            image = os.path.join(folder, "JPEGImages", image_id + ".jpg")
            if not os.path.isfile(image):
                raise FileNotFoundError(f"{listing} lists {image_id} but {image} does not exist")
            records.append((image, read_annotation(os.path.join(folder, "Annotations", image_id + ".xml"))))
    return records


def _photometric(image, seed):
    def maybe(fn, x, i):
        return tf.cond(tf.random.stateless_uniform((), seed + i) < 0.5, lambda: fn(x), lambda: x)

    image = maybe(lambda x: x + tf.random.stateless_uniform((), seed + 10, -32, 32), image, 0)
    image = maybe(lambda x: tf.image.adjust_contrast(
        x, tf.random.stateless_uniform((), seed + 11, 0.5, 1.5)), image, 1)
    image = maybe(lambda x: tf.image.adjust_saturation(
        x, tf.random.stateless_uniform((), seed + 12, 0.5, 1.5)), image, 2)
    image = maybe(lambda x: tf.image.adjust_hue(
        x / 255.0, tf.random.stateless_uniform((), seed + 13, -0.05, 0.05)) * 255.0, image, 3)
    return tf.clip_by_value(image, 0.0, 255.0)


def _expand(image, boxes, seed):
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    ratio = tf.random.stateless_uniform((), seed + 20, 1.0, 4.0)
    new_h, new_w = tf.cast(h * ratio, tf.int32), tf.cast(w * ratio, tf.int32)
    top = tf.cast(tf.random.stateless_uniform((), seed + 21) * tf.cast(new_h - shape[0], tf.float32), tf.int32)
    left = tf.cast(tf.random.stateless_uniform((), seed + 22) * tf.cast(new_w - shape[1], tf.float32), tf.int32)
    canvas = tf.ones((new_h, new_w, 3)) * tf.constant(MEAN_RGB)
    paste = tf.pad(image - tf.constant(MEAN_RGB), [[top, new_h - top - shape[0]],
                                                   [left, new_w - left - shape[1]], [0, 0]])
    offset = tf.cast(tf.stack([left, top, left, top]), tf.float32)
    return canvas + paste, boxes + offset


def _crop(image, boxes, labels, seed):
    from keras_muxnet.detection.boxes import iou_matrix

    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    min_iou = tf.gather(tf.constant(MIN_IOUS), tf.random.stateless_uniform(
        (), seed + 30, 0, len(MIN_IOUS), tf.int32))
    scale = tf.random.stateless_uniform((CROP_TRIES, 2), seed + 31, 0.3, 1.0)
    aspect = (scale[:, 0] * w) / (scale[:, 1] * h)
    scale_ok = (aspect >= 0.5) & (aspect <= 2.0)
    corner = tf.random.stateless_uniform((CROP_TRIES, 2), seed + 32) * (1.0 - scale)
    crops = tf.stack([corner[:, 0] * w, corner[:, 1] * h, (corner[:, 0] + scale[:, 0]) * w,
                      (corner[:, 1] + scale[:, 1]) * h], axis=-1)                # (K, 4)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2                                      # (G, 2)
    inside = ((centres[None, :, 0] > crops[:, None, 0]) & (centres[None, :, 0] < crops[:, None, 2])
              & (centres[None, :, 1] > crops[:, None, 1]) & (centres[None, :, 1] < crops[:, None, 3]))
    overlap = tf.reduce_any(iou_matrix(crops, boxes) >= min_iou, axis=1)
    valid = scale_ok & overlap & tf.reduce_any(inside, axis=1) & (min_iou > 0)
    whole = tf.stack([0.0, 0.0, w, h])
    chosen = tf.argmax(tf.cast(valid, tf.int32), output_type=tf.int32)
    crop = tf.where(tf.reduce_any(valid), crops[chosen], whole)
    keep = tf.where(tf.reduce_any(valid), inside[chosen], tf.ones_like(labels, tf.bool))
    x1, y1 = tf.cast(crop[0], tf.int32), tf.cast(crop[1], tf.int32)
    x2 = tf.maximum(tf.cast(crop[2], tf.int32), x1 + 1)
    y2 = tf.maximum(tf.cast(crop[3], tf.int32), y1 + 1)
    image = image[y1:y2, x1:x2]
    origin = tf.cast(tf.stack([x1, y1, x1, y1]), tf.float32)
    limit = tf.cast(tf.stack([x2 - x1, y2 - y1, x2 - x1, y2 - y1]), tf.float32)
    boxes = tf.clip_by_value(tf.boolean_mask(boxes, keep) - origin, 0.0, limit)
    labels = tf.boolean_mask(labels, keep)
    nonempty = (boxes[:, 2] > boxes[:, 0] + 1) & (boxes[:, 3] > boxes[:, 1] + 1)
    return image, tf.boolean_mask(boxes, nonempty), tf.boolean_mask(labels, nonempty)


def augment(image, boxes, labels, seed):
    """SSD's augmentation of one float image (H, W, 3) with pixel xyxy boxes; `seed` (2,) int."""
    seed = tf.convert_to_tensor(seed, tf.int32)
    image = _photometric(tf.cast(image, tf.float32), seed)
    image, boxes = tf.cond(tf.random.stateless_uniform((), seed + 40) < 0.5,
                           lambda: _expand(image, boxes, seed), lambda: (image, boxes))
    image, boxes, labels = _crop(image, boxes, labels, seed)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    flipped = tf.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=-1)
    flip = tf.random.stateless_uniform((), seed + 50) < 0.5
    image = tf.cond(flip, lambda: image[:, ::-1], lambda: image)
    boxes = tf.cond(flip, lambda: flipped, lambda: boxes)
    return image, boxes, labels


def to_dataset(records, model, batch_size, training=False, seed=0):
    """tf.data of (image at model.input_size, targets) for `model.fit` (augmented if training)."""
    paths = [path for path, _ in records]
    boxes = tf.ragged.constant([r["boxes"].tolist() for _, r in records], ragged_rank=1,
                               inner_shape=(4,), dtype=tf.float32)
    labels = tf.ragged.constant([r["labels"].tolist() for _, r in records], dtype=tf.int32)
    data = tf.data.Dataset.from_tensor_slices((paths, boxes, labels))
    if training:
        data = data.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    counter = tf.data.Dataset.counter().map(lambda i: tf.stack([tf.cast(i, tf.int32), seed]))
    data = tf.data.Dataset.zip((data, counter))

    def load(example, example_seed):
        path, example_boxes, example_labels = example
        image = tf.cast(tf.io.decode_jpeg(tf.io.read_file(path), channels=3), tf.float32)
        if training:
            image, example_boxes, example_labels = augment(image, example_boxes, example_labels,
                                                           example_seed)
        return model.encode_sample(image, example_boxes, example_labels)

    data = data.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch_size, drop_remainder=training).prefetch(tf.data.AUTOTUNE)
