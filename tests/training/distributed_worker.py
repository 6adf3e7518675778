"""A training process the distributed tests start (not a test module itself).

    python distributed_worker.py MODE OUT_DIR [N_DEVICES]

MODE mirrored: 3 steps of the ImageNet recipe on muxnet_tiny.TRAINING_TINY with synchronized BN
under MirroredStrategy over N_DEVICES logical CPUs (the CPU is always split in two, so both runs see
the same device set-up); writes OUT_DIR/weights_<N>.npz.
MODE multiworker: run.fit under the strategy TF_CONFIG selects (2 epochs x 2 steps); writes
OUT_DIR/weights_worker<i>.npz.
MODE upstream_reduce: the call Keras 3's fit makes first under MultiWorkerMirroredStrategy,
strategy.reduce of one distributed (images, labels) batch; prints REDUCE_OK or REDUCE_FAILED.
MODE resume: run.fit for 4 epochs x 2 steps; with KILL_AT_EPOCH=k it kills itself (SIGKILL)
right after the backup of epoch k; records the epochs it ran and the weights it started from.
"""

import json
import os
import signal
import sys

import numpy as np

MODE, OUT = sys.argv[1], sys.argv[2]
if MODE == "mirrored":
    from keras_muxnet.training import distribute

    DEVICES = distribute.split_cpu(2)[: int(sys.argv[3])]

import tensorflow as tf  # noqa: E402

from keras_muxnet._keras import keras  # noqa: E402
from keras_muxnet.training import distribute, recipes, run  # noqa: E402
from muxnet_tiny import TRAINING_TINY  # noqa: E402 - test_distribute puts tests/ on the path
RECIPE = recipes.ImageNetRecipe(dropout_rate=0.0, drop_connect_rate=0.0, ema_momentum=0.9)


def batches(global_batch, count, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (global_batch * count, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 4, global_batch * count).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch).repeat()


def weights_of(model):
    return {f"{i}_{w.name}": np.asarray(w.numpy()) for i, w in enumerate(model.weights)}


def build(strategy, steps_per_epoch, global_batch, sync_bn=False):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = RECIPE.build_model(TRAINING_TINY, num_classes=4, image_size=32)
        if sync_bn:
            recipes.synchronize_batch_norm(model)
        RECIPE.compile(model, steps_per_epoch, global_batch, num_classes=4)
    return model


class Recorder(keras.callbacks.Callback):
    """Writes the epochs run and the starting weights; kills the process if asked."""

    def __init__(self, kill_at):
        super().__init__()
        self.kill_at, self.epochs = kill_at, []

    def on_epoch_begin(self, epoch, logs=None):
        if not self.epochs:
            np.savez(os.path.join(OUT, f"start_{os.getpid()}.npz"), **weights_of(self.model))
        self.epochs.append(epoch)
        with open(os.path.join(OUT, "epochs.json"), "a") as handle:
            handle.write(json.dumps(epoch) + "\n")

    def on_epoch_end(self, epoch, logs=None):
        if self.kill_at is not None and epoch + 1 == self.kill_at:
            np.savez(os.path.join(OUT, "at_kill.npz"), **weights_of(self.model))
            os.kill(os.getpid(), signal.SIGKILL)


if MODE == "mirrored":
    strategy = tf.distribute.MirroredStrategy(DEVICES)
    model = build(strategy, 3, 8, sync_bn=True)
    np.savez(os.path.join(OUT, f"initial_{len(DEVICES)}.npz"), **weights_of(model))
    model.fit(batches(8, 3), epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    np.savez(os.path.join(OUT, f"weights_{len(DEVICES)}.npz"), **weights_of(model))
elif MODE == "multiworker":
    strategy = distribute.make_strategy()
    global_batch = distribute.global_batch_size(4, strategy)
    model = build(strategy, 2, global_batch)
    run.fit(model, batches(global_batch, 4), 2, 2, OUT, verbose=0)
    np.savez(os.path.join(OUT, f"weights_worker{distribute.task_id()}.npz"), **weights_of(model))
elif MODE == "upstream_reduce":
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    batch = next(iter(strategy.experimental_distribute_dataset(batches(8, 1))))
    try:
        strategy.reduce("MEAN", batch, axis=None)
        print("REDUCE_OK")
    except ValueError as error:
        print("REDUCE_FAILED", str(error).splitlines()[0])
elif MODE == "resume":
    kill_at = int(os.environ["KILL_AT_EPOCH"]) if os.environ.get("KILL_AT_EPOCH") else None
    strategy = distribute.make_strategy()
    model = build(strategy, 2, 8)
    run.fit(model, batches(8, 2), 4, 2, OUT, verbose=0, tensorboard=False, extra_callbacks=[Recorder(kill_at)])
    np.savez(os.path.join(OUT, "final.npz"), **weights_of(model))
