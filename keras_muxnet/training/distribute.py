"""Which `tf.distribute` strategy a run uses, and the batch arithmetic that goes with it.

One machine: `MirroredStrategy` over its GPUs (or the CPU). Several machines: set `TF_CONFIG`
on each worker *before* the process creates the strategy, and `MultiWorkerMirroredStrategy` is
used. The batch a user gives is per replica; the global batch is that times the replicas.

Keras 3 (3.15 with TF 2.21, checked here) cannot `fit` under `MultiWorkerMirroredStrategy`:
before the first step, its trainer all-reduces a whole (images, labels) batch across workers to
build the model symbolically, and the collective reduce rejects the nested per-replica values
("Attempt to convert a value (PerReplica...) ... to a Tensor"; older releases failed with
"Invalid reduction dimension 0"). A plain keras.applications model fails the same way: the op is
`strategy.reduce("MEAN", (x, y), axis=None)` on the first distributed batch, which the collective
strategy passes whole to `CrossDeviceOps.reduce` (one value expected); keras-team/keras issue
20585, tensorflow/tensorflow issue 72388; see training/README.md. `tf_keras` trains fine, so multi-worker runs need
`TF_USE_LEGACY_KERAS=1`; we say so up front instead of failing at the first batch.
"""

import json
import os

import tensorflow as tf

from keras_muxnet._keras import LEGACY_KERAS, require_tensorflow


class MultiWorkerNeedsLegacyKeras(RuntimeError):
    """Multi-worker training was requested under Keras 3, which cannot fit with it."""


def cluster_spec():
    """The TF_CONFIG cluster as a dict (empty when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    return config


def is_multi_worker():
    """True when TF_CONFIG describes a cluster with more than one task."""
    cluster = cluster_spec().get("cluster", {})
    return sum(len(tasks) for tasks in cluster.values()) > 1


def task_id():
    """This worker's index in the cluster (0 on one machine)."""
    return int(cluster_spec().get("task", {}).get("index", 0))


def is_chief():
    """Whether this process writes the shared outputs (checkpoints, logs, exports)."""
    task = cluster_spec().get("task", {})
    kind = task.get("type", "worker")
    return kind == "chief" or (kind == "worker" and task.get("index", 0) == 0
                               and "chief" not in cluster_spec().get("cluster", {}))


def make_strategy(devices=None):
    """MultiWorkerMirroredStrategy when TF_CONFIG names a cluster, else MirroredStrategy."""
    require_tensorflow("tf.distribute training", instead=(
        "on JAX use keras.distribution.DataParallel (see training/README.md), or run the "
        "recipe with KERAS_BACKEND=tensorflow"))
    if is_multi_worker():
        if not LEGACY_KERAS:
            raise MultiWorkerNeedsLegacyKeras(
                "TF_CONFIG describes a multi-worker cluster, but Keras 3 cannot fit under "
                "MultiWorkerMirroredStrategy with TensorFlow 2.21 (its symbolic build all-reduces "
                "a nested data batch). Run every worker with TF_USE_LEGACY_KERAS=1 (tf_keras).")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(devices)


def global_batch_size(per_replica_batch_size, strategy):
    """Per-replica batch times the replicas in sync (the batch one optimizer step sees)."""
    if per_replica_batch_size < 1:
        raise ValueError(f"batch size per replica must be positive, got {per_replica_batch_size}")
    return per_replica_batch_size * strategy.num_replicas_in_sync


def check_divisible(global_batch, strategy):
    """A global batch must split evenly over the replicas, or replicas would see unequal work."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ValueError(f"global batch size {global_batch} is not divisible by the "
                         f"{replicas} replicas in sync; use a multiple of {replicas}")
    return global_batch // replicas


def worker_directory(directory):
    """Where this worker writes: the directory itself on the chief, a per-worker sub-folder on
    the others (their copies are only needed to keep the collective ops in step)."""
    if is_chief():
        return directory
    return os.path.join(directory, f"worker_{task_id()}")


def split_cpu(devices=2):
    """Split the CPU into logical devices (must run before TensorFlow initializes devices);
    lets MirroredStrategy be exercised on a machine without GPUs."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    return [device.name for device in tf.config.list_logical_devices("CPU")]
