"""Input pipelines on real photos written as ImageNet-style TFRecords and as an image folder."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_muxnet.training import data

pytestmark = pytest.mark.both_modes


@pytest.fixture()
def records(tmp_path, photos):
    """Two TFRecord files, three photos each, labels 0..5."""
    labels = list(range(len(photos)))
    data.write_tfrecords(str(tmp_path / "train-00000-of-00002"), photos[:3], labels[:3])
    data.write_tfrecords(str(tmp_path / "train-00001-of-00002"), photos[3:], labels[3:])
    return tmp_path


def first_batch(dataset):
    images, labels = next(iter(dataset))
    return images.numpy(), labels.numpy()


def test_tfrecords_train_batches_are_cropped_flipped_and_reproducible(records):
    make = lambda seed: data.tfrecord_dataset(str(records / "train-*"), 6, True, image_size=32, batch_size=4,
                                               seed=seed)
    images, labels = first_batch(make(1))
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 255 and images.std() > 10
    assert set(labels) <= set(range(6))
    again, again_labels = first_batch(make(1))
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, again_labels)
    other, _ = first_batch(make(2))
    assert not np.array_equal(images, other)
    # The same pipeline iterated twice (two epochs) draws new crops.
    ds = make(1)
    epoch1 = np.concatenate([b[0].numpy() for b in ds.take(1)])
    epoch2 = np.concatenate([b[0].numpy() for b in ds.take(1)])
    assert not np.array_equal(epoch1, epoch2)


def test_tfrecords_eval_is_the_central_crop(records, photos):
    ds = data.tfrecord_dataset(str(records), 6, False, image_size=32, batch_size=6)
    images, labels = first_batch(ds)
    np.testing.assert_array_equal(np.sort(labels), np.arange(6))  # every record once, no shuffling
    photo = photos[0].astype("float32")
    side = int(min(photo.shape[:2]) * 0.875)
    top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
    expected = tf.image.resize(photo[top:top + side, left:left + side], (32, 32)).numpy()
    np.testing.assert_allclose(images[list(labels).index(0)], expected, atol=1e-3)


def test_inception_label_offset_and_multi_label(tmp_path, photos):
    path = str(tmp_path / "ml.tfrecord")
    data.write_tfrecords(path, photos[:2], [[0, 3], [2]])
    images, labels = first_batch(data.tfrecord_dataset(path, 4, False, 16, 2, multi_label=True))
    np.testing.assert_array_equal(labels, [[1, 0, 0, 1], [0, 0, 1, 0]])
    one_based = str(tmp_path / "inception.tfrecord")
    data.write_tfrecords(one_based, photos[:2], [1, 2])
    _, labels = first_batch(data.tfrecord_dataset(one_based, 2, False, 16, 2, label_offset=1))
    np.testing.assert_array_equal(labels, [0, 1])


def test_tfrecords_missing_field_is_named(tmp_path):
    path = str(tmp_path / "bad.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        feature = {"image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x"]))}
        writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    with pytest.raises(ValueError, match="image/class/label"):
        data.tfrecord_dataset(path, 10, True)


def test_labels_outside_the_classes_fail_clearly(records):
    ds = data.tfrecord_dataset(str(records), 3, False, image_size=16, batch_size=6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must lie in \[0, 3\)"):
        first_batch(ds)


def test_missing_and_empty_directories(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.tfrecord_dataset(str(tmp_path / "nowhere" / "train-*"), 10, True)
    with pytest.raises(ValueError, match="no TFRecord files"):
        data.tfrecord_dataset(str(tmp_path), 10, True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.image_folder_dataset(str(tmp_path / "nowhere"), True)
    with pytest.raises(ValueError, match="empty"):
        data.image_folder_dataset(str(tmp_path), True)
    (tmp_path / "cats").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        data.image_folder_dataset(str(tmp_path), True)


def test_image_folder(tmp_path, photos):
    for name, photo in zip(["cat", "cat", "dog", "dog"], photos):
        os.makedirs(tmp_path / name, exist_ok=True)
        count = len(os.listdir(tmp_path / name))
        tf.io.write_file(str(tmp_path / name / f"{count}.png"), tf.io.encode_png(photo))
    ds, classes = data.image_folder_dataset(str(tmp_path), False, image_size=24, batch_size=4)
    images, labels = first_batch(ds)
    assert classes == ["cat", "dog"]
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])
    assert images.shape == (4, 24, 24, 3)


def test_array_dataset_upsamples_bicubic(photos):
    small = np.stack([tf.image.resize(p, (8, 8)).numpy().astype("uint8") for p in photos[:4]])
    ds = data.array_dataset(small, [0, 1, 2, 3], 4, False, image_size=32, batch_size=4)
    images, labels = first_batch(ds)
    expected = np.clip(tf.image.resize(small.astype("float32"), (32, 32), method="bicubic").numpy(), 0, 255)
    np.testing.assert_allclose(images, expected, atol=1e-3)
    with pytest.raises(ValueError, match="RGB"):
        data.array_dataset(small[..., :1], [0, 1, 2, 3], 4, True)
