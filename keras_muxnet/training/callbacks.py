"""Callbacks of a training run: last good checkpoint + NaN guard, backups, logs, EMA evaluation.

`GuardedCheckpoint` saves the weights after every epoch whose loss is finite and stops training
as soon as the loss turns NaN/inf, leaving the last good file untouched; `fit` in
keras_muxnet.training.run then raises `TrainingDiverged` naming that file. `BackupAndRestore`
lets an interrupted run resume at the epoch it reached (each worker has its own folder).
"""

import math
import os

from keras_muxnet._files import atomic_output
from keras_muxnet._keras import LEGACY_KERAS, keras


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the last good checkpoint."""


class GuardedCheckpoint(keras.callbacks.Callback):
    """Save weights at the end of each finite epoch; stop at the first non-finite loss."""

    def __init__(self, filepath):
        super().__init__()
        if not str(filepath).endswith(".weights.h5"):
            raise ValueError(f"checkpoint path must end in .weights.h5, got {filepath}")
        self.filepath = str(filepath)
        self.diverged_at = None  # (epoch, batch) of the first non-finite loss
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.diverged_at is None:
            self.diverged_at = (self._epoch, batch)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if self.diverged_at is not None or (loss is not None and not math.isfinite(float(loss))):
            if self.diverged_at is None:
                self.diverged_at = (epoch, None)
            self.model.stop_training = True
            return
        directory = os.path.dirname(self.filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with atomic_output(self.filepath, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)

    def message(self):
        epoch, batch = self.diverged_at
        where = f"epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        kept = (f"the last good weights are in {self.filepath}" if os.path.exists(self.filepath)
                else "no epoch finished with a finite loss, so there is no checkpoint")
        return (f"training stopped: the loss became NaN or infinite at {where}; {kept}. "
                f"Lower the learning rate or check the input data.")


def ema_evaluation():
    """Evaluate with the optimizer's EMA weights during fit (Keras 3's SwapEMAWeights).

    tf_keras has no such callback: there validation uses the raw weights, and the EMA weights
    replace them when fit ends (both Keras versions do that), so exports always carry EMA.
    """
    if LEGACY_KERAS:
        return []
    return [keras.callbacks.SwapEMAWeights(swap_on_epoch=False)]


def backup_and_restore(backup_dir):
    """Resume an interrupted fit at the epoch it reached. The model must be built; Keras 3
    deletes the folder when training finishes."""
    return keras.callbacks.BackupAndRestore(backup_dir)


def tensorboard(log_dir):
    """Loss, metrics and learning rate per epoch for TensorBoard."""
    return keras.callbacks.TensorBoard(log_dir, update_freq="epoch", write_graph=False)
