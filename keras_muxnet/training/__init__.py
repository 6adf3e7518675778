"""Training MUXNets: tf.data pipelines, the paper's recipes, runs with checkpoints and backup,
`tf.distribute` strategies, and one small real dataset (scikit-learn's digits)."""

from keras_muxnet.training.callbacks import GuardedCheckpoint, TrainingDiverged
from keras_muxnet.training.data import (array_dataset, image_folder_dataset, tfrecord_dataset,
                                        write_tfrecords)
from keras_muxnet.training.digits import load_digits
from keras_muxnet.training.distribute import make_strategy
from keras_muxnet.training.jobs import FinetuneResult, finetune_arrays, finetune_files, train_imagenet
from keras_muxnet.training.recipes import ImageNetRecipe, TransferRecipe
from keras_muxnet.training.run import export, fit
from keras_muxnet.training.schedules import WarmupStepDecay, cosine_schedule, imagenet_schedule

__all__ = ["FinetuneResult", "GuardedCheckpoint", "ImageNetRecipe", "TrainingDiverged",
           "TransferRecipe", "WarmupStepDecay", "array_dataset", "cosine_schedule", "export",
           "finetune_arrays", "finetune_files", "fit", "image_folder_dataset", "imagenet_schedule",
           "load_digits", "make_strategy", "tfrecord_dataset", "train_imagenet", "write_tfrecords"]
