"""BatchNorm moving averages recomputed with a network's final weights.

After a short training (a few hundred steps) the moving averages (momentum 0.99) still trail the
weights, and a model scores far worse with them than with batch statistics: a detector that
found all 8 scenes it was fit on with batch statistics scored mAP 0.45 with its averages, and a
search candidate scored 0.714 and 0.375 in two runs. Recomputing them over some training batches
with the weights fixed (as once-for-all networks reset theirs per sub-network) removes that.
Used by `detection.fitting.train` and the search's short evaluation.
"""

from keras_muxnet._keras import keras

RECALIBRATION_BATCHES = 20


def recalibrate_batch_norm(model, dataset, batches=RECALIBRATION_BATCHES):
    """Set every BatchNorm's moving mean and variance to the average of its batch statistics
    over `batches` batches of `dataset` ((images, ...) pairs), the weights fixed.

    Batch k (from 0) enters with momentum k / (k + 1), so after n batches each average is the
    plain mean of the n batch values. Runs eagerly; returns the number of batches used.
    """
    norms = list(_batch_norms(model))
    saved = [layer.momentum for layer in norms]
    count = 0
    try:
        for batch in dataset.take(batches):
            for layer in norms:
                layer.momentum = count / (count + 1.0)
            model(batch[0] if isinstance(batch, (tuple, list)) else batch, training=True)
            count += 1
    finally:
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum
    return count


def _batch_norms(layer):
    for sub in getattr(layer, "layers", ()):
        if isinstance(sub, keras.layers.BatchNormalization):
            yield sub
        else:
            yield from _batch_norms(sub)
