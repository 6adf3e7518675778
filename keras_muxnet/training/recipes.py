"""The paper's training recipes as data: optimizer, schedule, regularization, loss and metrics.

`ImageNetRecipe` (Section 5.2): RMSProp (rho 0.9, momentum 0.9), L2 weight decay 1e-5, dropout
0.2, drop-connect, warm-up to 0.016 per 256 images then x0.97 every 3 epochs, EMA 0.9998 of the
weights (Keras' built-in optimizer EMA; evaluation swaps it in and fit ends with it).
`TransferRecipe` (Section 5.4): SGD momentum 0.9, weight decay 4e-5, gradient norm clipped at 5,
cosine from 0.01, bicubic upsampling and flips, on a new head; `multi_label=True` gives the
ChestX-Ray14 set-up (sigmoid outputs, binary cross-entropy, AUROC).

Weight decay is an L2 penalty on the convolution and dense kernels added to the loss (gradient
`weight_decay * w`), as in the TensorFlow reference trainers the paper follows, not Keras'
decoupled `weight_decay` argument, which would shrink weights by lr x decay instead.
"""

import dataclasses
from typing import Optional

from keras_muxnet import architectures
from keras_muxnet._keras import LEGACY_KERAS, keras, variable_short_name
from keras_muxnet.models import MUXNet
from keras_muxnet.training import schedules


def add_weight_decay(model, weight_decay):
    """Put an L2 penalty (0.5 * weight_decay * ||w||^2) on every trainable kernel; returns the
    number of kernels covered. BatchNorm scales/offsets and biases stay free. Calling it again
    (e.g. after unfreezing) only adds the kernels not yet covered."""
    if weight_decay <= 0:
        return 0
    regularizer = keras.regularizers.L2(weight_decay / 2)
    covered = getattr(model, "_muxnet_decayed", set())
    for weight in model.trainable_weights:
        if "kernel" not in variable_short_name(weight) or id(weight) in covered:
            continue
        if LEGACY_KERAS:
            model.add_loss(lambda w=weight: regularizer(w))
        else:
            weight.regularizer = regularizer
        covered.add(id(weight))
    model._muxnet_decayed = covered
    return len(covered)


def classification_loss(multi_label, label_smoothing=0.0):
    if multi_label:
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    if label_smoothing:
        raise ValueError("label smoothing needs one-hot labels; the pipelines give class ids")
    return keras.losses.SparseCategoricalCrossentropy()


def classification_metrics(multi_label, num_classes, top5=False):
    if multi_label:
        return [keras.metrics.AUC(multi_label=True, num_labels=num_classes, name="auroc"),
                keras.metrics.BinaryAccuracy(name="binary_accuracy")]
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if top5 and num_classes > 5:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5_accuracy"))
    return metrics


@dataclasses.dataclass(frozen=True)
class ImageNetRecipe:
    """Training from scratch on ImageNet as in the paper (defaults are its values)."""

    epochs: int = 350
    image_size: int = 224
    base_learning_rate: float = 0.016  # per 256 images
    reference_batch_size: int = 256
    warmup_epochs: float = 5
    decay_epochs: float = 3
    decay_rate: float = 0.97
    rho: float = 0.9
    momentum: float = 0.9
    epsilon: float = 1e-3
    weight_decay: float = 1e-5
    dropout_rate: float = 0.2
    drop_connect_rate: Optional[float] = None  # None: the variant's own (0.1 for MUXNet-m)
    ema_momentum: Optional[float] = 0.9998

    def schedule(self, steps_per_epoch, global_batch_size):
        return schedules.imagenet_schedule(
            steps_per_epoch, global_batch_size, self.base_learning_rate, self.warmup_epochs,
            self.decay_epochs, self.decay_rate, self.reference_batch_size)

    def optimizer(self, steps_per_epoch, global_batch_size):
        ema = {"use_ema": True, "ema_momentum": self.ema_momentum} if self.ema_momentum else {}
        return keras.optimizers.RMSprop(self.schedule(steps_per_epoch, global_batch_size), rho=self.rho,
                                        momentum=self.momentum, epsilon=self.epsilon, **ema)

    def build_model(self, variant, num_classes=1000, weights=None, image_size=None):
        spec = architectures.get_spec(variant) if isinstance(variant, str) else variant
        size = image_size or self.image_size
        return MUXNet(spec, weights=weights, input_shape=(size, size, 3), classes=num_classes,
                      dropout_rate=self.dropout_rate, drop_connect_rate=self.drop_connect_rate)

    def compile(self, model, steps_per_epoch, global_batch_size, num_classes=1000):
        add_weight_decay(model, self.weight_decay)
        model.compile(optimizer=self.optimizer(steps_per_epoch, global_batch_size),
                      loss=classification_loss(False),
                      metrics=classification_metrics(False, num_classes, top5=True))
        return model


# Peak rate when training from scratch with the transfer recipe (small data, e.g. digits): the
# paper's 0.01 is for fine-tuning ImageNet weights. Measured on MUXNet-xs, digits at 32x32,
# 4 epochs with 1 of warm-up: 0.02 -> 0.928 held-out, 0.05 -> 0.914, 0.1 -> 0.142 (diverges).
FROM_SCRATCH_LEARNING_RATE = 0.02


@dataclasses.dataclass(frozen=True)
class TransferRecipe:
    """Fine-tuning onto a new task as in the paper's CIFAR experiments (defaults are its values)."""

    epochs: int = 150
    image_size: int = 224
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 4e-5
    clipnorm: float = 5.0
    dropout_rate: float = 0.2
    flip: bool = True
    multi_label: bool = False
    warmup_steps: int = 0
    ema_momentum: Optional[float] = None

    def schedule(self, steps_per_epoch):
        return schedules.cosine_schedule(self.learning_rate, self.epochs * steps_per_epoch, self.warmup_steps)

    def optimizer(self, steps_per_epoch):
        ema = {"use_ema": True, "ema_momentum": self.ema_momentum} if self.ema_momentum else {}
        return keras.optimizers.SGD(self.schedule(steps_per_epoch), momentum=self.momentum,
                                    clipnorm=self.clipnorm, **ema)

    def build_model(self, variant, num_classes, weights="imagenet", image_size=None, freeze_backbone=False):
        """The variant's backbone (any `weights=` source) under a new pooled dropout + dense head."""
        spec = architectures.get_spec(variant) if isinstance(variant, str) else variant
        size = image_size or self.image_size
        backbone = MUXNet(spec, include_top=False, weights=weights, input_shape=(size, size, 3))
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(backbone.output)
        if self.dropout_rate:
            x = keras.layers.Dropout(self.dropout_rate, name="top_dropout")(x)
        outputs = keras.layers.Dense(num_classes, activation="sigmoid" if self.multi_label else "softmax",
                                     dtype="float32", name="predictions")(x)
        model = keras.Model(backbone.input, outputs, name=f"{spec.name}_transfer")
        set_backbone_trainable(model, not freeze_backbone)
        return model

    def compile(self, model, steps_per_epoch, num_classes):
        add_weight_decay(model, self.weight_decay)
        model.compile(optimizer=self.optimizer(steps_per_epoch), loss=classification_loss(self.multi_label),
                      metrics=classification_metrics(self.multi_label, num_classes))
        return model


HEAD_LAYERS = ("avg_pool", "top_dropout", "predictions")


def set_backbone_trainable(model, trainable):
    """Freeze (BatchNorm then runs in inference mode) or unfreeze every layer but the head."""
    for layer in model.layers:
        if layer.name not in HEAD_LAYERS:
            layer.trainable = trainable
    return model


def synchronize_batch_norm(model):
    """Make every BatchNormalization all-reduce its batch statistics across replicas.

    Plain BN under MirroredStrategy normalizes each replica's slice of the batch by itself, so
    8 GPUs x 32 images is not the same as one batch of 256; synchronized BN is (to float
    tolerance), at the cost of one all-reduce per BN layer. Returns the number of layers changed.
    """
    changed = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            if LEGACY_KERAS:
                layer.fused = False  # tf_keras' fused kernel cannot all-reduce
            changed += 1
    return changed
