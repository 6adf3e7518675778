"""Learning-rate schedules of the paper's recipes.

ImageNet (MnasNet-style, which the paper follows): the rate grows linearly from 0 to its peak
over the warm-up epochs, then is multiplied by 0.97 every 3 epochs (staircase). The peak scales
with the global batch: 0.016 per 256 images. Transfer: cosine annealing from 0.01 to 0.
"""

import tensorflow as tf

from keras_muxnet._keras import keras, register


def scaled_learning_rate(base_learning_rate, global_batch_size, reference_batch_size=256):
    """The linear scaling rule: base rate per `reference_batch_size` images."""
    return base_learning_rate * global_batch_size / reference_batch_size


@register
class WarmupStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak_learning_rate` over `warmup_steps`, then
    `peak * decay_rate ** floor((step - warmup_steps) / decay_steps)`."""

    def __init__(self, peak_learning_rate, warmup_steps, decay_steps, decay_rate=0.97):
        super().__init__()
        if decay_steps < 1:
            raise ValueError(f"decay_steps must be at least 1, got {decay_steps}")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup = tf.cast(self.warmup_steps, tf.float32)
        ramp = self.peak_learning_rate * step / tf.maximum(warmup, 1.0)
        decays = tf.floor((step - warmup) / float(self.decay_steps))
        decayed = self.peak_learning_rate * tf.pow(self.decay_rate, decays)
        return tf.where(step < warmup, ramp, decayed)

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate}


def imagenet_schedule(steps_per_epoch, global_batch_size, base_learning_rate=0.016, warmup_epochs=5,
                      decay_epochs=3, decay_rate=0.97, reference_batch_size=256):
    """The paper's ImageNet schedule for a given epoch length and global batch."""
    peak = scaled_learning_rate(base_learning_rate, global_batch_size, reference_batch_size)
    return WarmupStepDecay(peak, warmup_steps=round(warmup_epochs * steps_per_epoch),
                           decay_steps=max(1, round(decay_epochs * steps_per_epoch)), decay_rate=decay_rate)


def cosine_schedule(initial_learning_rate, total_steps, warmup_steps=0):
    """Cosine annealing from `initial_learning_rate` to 0 over `total_steps` (Keras' own)."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}")
    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, total_steps - warmup_steps), warmup_target=initial_learning_rate,
            warmup_steps=warmup_steps)
    return keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps=total_steps)
