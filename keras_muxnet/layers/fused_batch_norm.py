"""BatchNormalization on TensorFlow's fused kernel, for Keras 3.

Keras 3's BatchNormalization computes the batch moments and the normalization as separate ops
(`ops.moments`, then `ops.batch_normalization`): on a CPU its training step is ~2.5x and its
inference ~3.5x slower than TensorFlow's fused kernel (FusedBatchNormV3, which tf_keras uses),
and BatchNorm is the largest single cost of a MUXNet training step. This subclass runs the
fused kernel for the common case (4-D NHWC input, no mask, no renorm, not synchronized) and
defers to Keras otherwise, and always on JAX and PyTorch. Weights, names, config and statistics
semantics are Keras': the moving variance is updated with the biased batch variance, as Keras does (the fused kernel
reports the unbiased one, which is converted back).

The class keeps Keras' name, BatchNormalization (registered as keras_muxnet>BatchNormalization):
`model.save_weights` keys each layer by its class name and position (`batch_normalization_21`),
so files written before and after this class existed load into each other.
"""

from keras_muxnet._keras import ON_TENSORFLOW, keras, register

if ON_TENSORFLOW:
    import tensorflow as tf


@register
class BatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization computed by TensorFlow's fused kernel where it can be."""

    def _fusable(self, inputs, mask):
        axis = self.axis if isinstance(self.axis, int) else None
        return (ON_TENSORFLOW and mask is None and len(inputs.shape) == 4 and axis in (3, -1)
                and not getattr(self, "synchronized", False) and not getattr(self, "renorm", False))

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)  # as Keras: statistics in float32 under mixed precision
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        if training and self.trainable:
            y, mean, unbiased, *_ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=gamma, offset=beta, mean=tf.zeros([0]), variance=tf.zeros([0]),
                epsilon=self.epsilon, is_training=True)
            count = tf.cast(tf.size(x) // channels, tf.float32)
            variance = unbiased * (count - 1.0) / count
            self.moving_mean.assign(self.moving_mean * self.momentum
                                    + tf.cast(mean, self.moving_mean.dtype) * (1.0 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum
                + tf.cast(variance, self.moving_variance.dtype) * (1.0 - self.momentum))
        else:
            y = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=gamma, offset=beta, mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32), epsilon=self.epsilon,
                is_training=False)[0]
        return tf.cast(y, self.compute_dtype)
