"""tf.data input pipelines: ImageNet-style TFRecords, image folders and in-memory arrays.

Every pipeline yields (images, labels) batches with images as float32 RGB in [0, 255], which
is what MUXNet models built with `include_preprocessing=True` take. Training batches get the
Inception augmentation (random-resized crop + horizontal flip); evaluation batches are resized
and center-cropped to 87.5% as in the ImageNet evaluation protocol. With a seed, the order and
the augmentation are reproducible run to run while still changing from epoch to epoch.
"""

import os
import pathlib

import tensorflow as tf

from keras_muxnet._files import atomic_output

IMAGE_FIELD = "image/encoded"
LABEL_FIELD = "image/class/label"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
CROP_FRACTION = 0.875
AREA_RANGE = (0.08, 1.0)
ASPECT_RATIO_RANGE = (3 / 4, 4 / 3)
AUTOTUNE = tf.data.AUTOTUNE


# --- Augmentation ----------------------------------------------------------------------------
def random_resized_crop(image, size, seed, area_range=AREA_RANGE, aspect_ratio_range=ASPECT_RATIO_RANGE):
    """Inception-style crop: a random box covering 8-100% of the area at 3/4-4/3 aspect ratio,
    resized to size x size (falls back to the whole image when no box fits)."""
    begin, box_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.1, aspect_ratio_range=aspect_ratio_range, area_range=area_range,
        max_attempts=10, use_image_if_no_bounding_boxes=True)
    crop = tf.slice(image, begin, box_size)
    return tf.image.resize(crop, (size, size), method="bilinear")


def center_crop(image, size, crop_fraction=CROP_FRACTION):
    """The central crop_fraction of the shorter side, resized to size x size (evaluation)."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.cast(tf.cast(tf.minimum(height, width), tf.float32) * crop_fraction, tf.int32)
    side = tf.maximum(side, 1)
    top = (height - side) // 2
    left = (width - side) // 2
    crop = tf.image.crop_to_bounding_box(image, top, left, side, side)
    return tf.image.resize(crop, (size, size), method="bilinear")


def _seed_stream(seed):
    """A reproducible stream of per-element stateless seeds, different every epoch."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)


# --- Label checks ----------------------------------------------------------------------------
def _checked_labels(labels, num_classes, multi_label):
    """Labels as int32 class ids (or multi-hot float32), failing loudly when out of range."""
    labels = tf.cast(labels, tf.int32)
    message = f"labels must lie in [0, {num_classes}) (num_classes={num_classes})"
    checks = [tf.debugging.assert_non_negative(labels, message=message),
              tf.debugging.assert_less(labels, num_classes, message=message)]
    with tf.control_dependencies(checks):
        labels = tf.identity(labels)
    if multi_label:
        return tf.reduce_max(tf.one_hot(labels, num_classes, dtype=tf.float32), axis=0)
    return labels


# --- Finishing -------------------------------------------------------------------------------
def _finish(dataset, num_classes, multi_label, training, size, batch_size, seed, flip, shuffle_buffer,
            decode, repeat, crop=True):
    """Shuffle, decode + augment, batch, prefetch: the part all sources share.

    crop=True: Inception crops (training) / 87.5% center crop (evaluation); crop=False: the whole
    image resized bicubically, as the paper's transfer experiments did.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    options = tf.data.Options()
    options.deterministic = seed is not None or not training
    dataset = dataset.with_options(options)
    if training and shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()

    def prepare(element, element_seed):
        image, label = decode(element)
        image = tf.cast(image, tf.float32)
        if size and not crop:
            image = tf.clip_by_value(tf.image.resize(image, (size, size), method="bicubic"), 0.0, 255.0)
        elif size:
            image = random_resized_crop(image, size, element_seed) if training else center_crop(image, size)
        if training and flip:
            image = tf.image.stateless_random_flip_left_right(image, element_seed + 1)
        return image, _checked_labels(label, num_classes, multi_label)

    seeds = _seed_stream(seed)
    dataset = tf.data.Dataset.zip((dataset, seeds)).map(prepare, num_parallel_calls=AUTOTUNE,
                                                        deterministic=options.deterministic)
    return dataset.batch(batch_size, drop_remainder=training).prefetch(AUTOTUNE)


# --- TFRecords -------------------------------------------------------------------------------
def list_tfrecords(pattern):
    """Files matching a glob pattern or lying in a directory; a clear error when there are none."""
    path = pathlib.Path(pattern)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        where = f"directory {pattern}"
    else:
        files = sorted(tf.io.gfile.glob(str(pattern)))
        where = f"pattern {pattern}"
        if not files and not path.parent.exists():
            raise FileNotFoundError(f"data directory {path.parent} does not exist")
    if not files:
        raise ValueError(f"no TFRecord files found for {where}")
    return files


def check_tfrecord_fields(filename, multi_label=False):
    """Read the first record and name any missing field, before training starts."""
    first = next(iter(tf.data.TFRecordDataset([filename]).take(1)), None)
    if first is None:
        raise ValueError(f"TFRecord file {filename} holds no records")
    example = tf.train.Example.FromString(first.numpy())
    features = example.features.feature
    for field, kind in ((IMAGE_FIELD, "bytes_list"), (LABEL_FIELD, "int64_list")):
        if field not in features:
            raise ValueError(f"TFRecord file {filename} lacks the field {field!r} "
                             f"(found: {sorted(features)})")
        if features[field].WhichOneof("kind") != kind:
            raise ValueError(f"field {field!r} in {filename} is a {features[field].WhichOneof('kind')}, "
                             f"expected {kind}")
    if not multi_label and len(features[LABEL_FIELD].int64_list.value) != 1:
        raise ValueError(f"field {LABEL_FIELD!r} in {filename} holds "
                         f"{len(features[LABEL_FIELD].int64_list.value)} labels; use multi_label=True")


def tfrecord_dataset(pattern, num_classes, training, image_size=224, batch_size=256, seed=None,
                     flip=True, label_offset=0, multi_label=False, shuffle_buffer=10_000, repeat=None, crop=True):
    """ImageNet-style TFRecords (`image/encoded` JPEG/PNG bytes, `image/class/label` int64).

    `label_offset` is subtracted from the stored label: records written by the Inception
    ImageNet scripts count classes from 1 (0 was "background"), so pass 1 for those.
    Files are interleaved, so a distribution strategy can shard them by file.
    """
    files = list_tfrecords(pattern)
    check_tfrecord_fields(files[0], multi_label)
    label_spec = (tf.io.VarLenFeature(tf.int64) if multi_label else tf.io.FixedLenFeature([], tf.int64))
    spec = {IMAGE_FIELD: tf.io.FixedLenFeature([], tf.string), LABEL_FIELD: label_spec}

    def decode(record):
        parsed = tf.io.parse_single_example(record, spec)
        label = parsed[LABEL_FIELD]
        if multi_label:
            label = tf.sparse.to_dense(label)
        image = tf.io.decode_image(parsed[IMAGE_FIELD], channels=3, expand_animations=False)
        return image, label - label_offset

    files_ds = tf.data.Dataset.from_tensor_slices(files)
    if training:
        files_ds = files_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    records = files_ds.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 8),
                                  num_parallel_calls=AUTOTUNE, deterministic=True)
    return _finish(records, num_classes, multi_label, training, image_size, batch_size, seed, flip,
                   shuffle_buffer, decode, training if repeat is None else repeat, crop)


# --- Image folders ---------------------------------------------------------------------------
def list_image_folder(directory):
    """(file paths, labels, class names) of `directory/<class name>/<image>`, classes sorted."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist")
    class_names = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_names:
        raise ValueError(f"data directory {directory} is empty: expected one sub-folder per class")
    paths, labels = [], []
    for label, name in enumerate(class_names):
        for path in sorted((directory / name).iterdir()):
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                paths.append(str(path))
                labels.append(label)
    if not paths:
        raise ValueError(f"data directory {directory} holds no images "
                         f"({', '.join(IMAGE_EXTENSIONS)}) in its class folders {class_names}")
    return paths, labels, class_names


def looks_like_image_folder(path):
    """A directory whose entries are class sub-folders (rather than TFRecord files)."""
    path = pathlib.Path(path)
    return path.is_dir() and any(p.is_dir() for p in path.iterdir())


def image_folder_dataset(directory, training, image_size=224, batch_size=256, seed=None, flip=True,
                         shuffle_buffer=10_000, repeat=None, crop=True):
    """Images in one sub-folder per class; returns (dataset, class names)."""
    paths, labels, class_names = list_image_folder(directory)

    def decode(element):
        path, label = element
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        return image, label

    items = tf.data.Dataset.from_tensor_slices((paths, labels))
    dataset = _finish(items, len(class_names), False, training, image_size, batch_size, seed, flip,
                      shuffle_buffer, decode, training if repeat is None else repeat, crop)
    return dataset, class_names


# --- In-memory arrays (transfer recipe: bicubic upsampling + flips) --------------------------
def array_dataset(images, labels, num_classes, training, image_size=None, batch_size=128, seed=None,
                  flip=True, multi_label=False, repeat=None):
    """Small in-memory datasets (CIFAR, digits): bicubic resize to image_size, flips when training.

    Unlike the Inception crop this keeps the whole image, as the paper's CIFAR transfer did.
    """
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3) RGB, got shape {tuple(images.shape)}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("no images given")

    def decode(element):
        image, label = element
        image = tf.cast(image, tf.float32)
        if image_size:
            image = tf.clip_by_value(tf.image.resize(image, (image_size, image_size), method="bicubic"),
                                     0.0, 255.0)
        return image, label

    items = tf.data.Dataset.from_tensor_slices((images, tf.convert_to_tensor(labels)))
    return _finish(items, num_classes, multi_label, training, None, batch_size, seed, flip,
                   len(images), decode, training if repeat is None else repeat)


def write_tfrecords(path, images, labels, image_format="png"):
    """Write (uint8 HxWx3 image, label or label list) pairs as ImageNet-style records.

    For tests and small conversions; writes to a temporary file first so a failure leaves
    nothing half-written.
    """
    encode = {"png": tf.io.encode_png, "jpeg": tf.io.encode_jpeg}[image_format]
    with atomic_output(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
        for image, label in zip(images, labels):
            label = [int(v) for v in (label if hasattr(label, "__len__") else [label])]
            feature = {
                IMAGE_FIELD: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encode(image).numpy()])),
                LABEL_FIELD: tf.train.Feature(int64_list=tf.train.Int64List(value=label)),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return path
