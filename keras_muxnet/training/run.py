"""`fit` with the run's standard callbacks and `export` of the final (EMA) model.

Output folder layout (per run):
    checkpoint/last_good.weights.h5   weights after the last epoch with a finite loss
    backup/worker_<i>/                BackupAndRestore state, removed when training completes
    logs/                             TensorBoard
    model.keras                       the export (written by `export`, EMA weights when used)
On a multi-worker cluster only the chief writes checkpoint/logs/export there; the other workers
write into worker_<i>/ sub-folders (needed to keep the collectives in step, then discarded).
"""

import os

from keras_muxnet._files import atomic_output
from keras_muxnet.training import callbacks as callbacks_lib
from keras_muxnet.training import distribute


def run_paths(out_dir):
    """The files and folders of a run (see the module docstring)."""
    mine = distribute.worker_directory(out_dir)
    return {
        "checkpoint": os.path.join(mine, "checkpoint", "last_good.weights.h5"),
        "backup": os.path.join(out_dir, "backup", f"worker_{distribute.task_id()}"),
        "logs": os.path.join(mine, "logs"),
        "export": os.path.join(mine, "model.keras"),
    }


def uses_ema(model):
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # mixed precision wrapper
    return bool(getattr(optimizer, "use_ema", False))


def fit(model, train_data, epochs, steps_per_epoch, out_dir, validation_data=None, validation_steps=None,
        backup=True, tensorboard=True, verbose="auto", extra_callbacks=()):
    """model.fit with checkpoint + NaN guard, BackupAndRestore, TensorBoard and EMA evaluation.

    Resumes from the backup folder when a previous run was interrupted. Raises TrainingDiverged
    (message names the last good checkpoint) if the loss becomes NaN or infinite.
    """
    if steps_per_epoch is None or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive integer (the input repeats), got {steps_per_epoch}")
    if not model.built:
        raise ValueError("build the model before fit: BackupAndRestore restores into existing weights")
    paths = run_paths(out_dir)
    guard = callbacks_lib.GuardedCheckpoint(paths["checkpoint"])
    callbacks = [guard]
    if uses_ema(model):
        callbacks += callbacks_lib.ema_evaluation()
    if backup:
        callbacks.append(callbacks_lib.backup_and_restore(paths["backup"]))
    if tensorboard:
        callbacks.append(callbacks_lib.tensorboard(paths["logs"]))
    callbacks += list(extra_callbacks)
    history = model.fit(train_data, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        validation_data=validation_data, validation_steps=validation_steps,
                        callbacks=callbacks, verbose=verbose, shuffle=False)
    if guard.diverged_at is not None:
        raise callbacks_lib.TrainingDiverged(guard.message())
    return history


def export(model, path):
    """Save the whole model as .keras, atomically (a temp file, then rename)."""
    path = str(path)
    if not path.endswith(".keras"):
        raise ValueError(f"export path must end in .keras, got {path}")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with atomic_output(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path
