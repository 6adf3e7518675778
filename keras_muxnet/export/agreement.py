"""How far an exported model follows its Keras original on real images: top-1 agreement,
both accuracies and the largest output difference (the figures that matter after export)."""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Comparison:
    agreement: float        # share of images with the same top-1 class
    keras_accuracy: float
    exported_accuracy: float
    max_abs_diff: float     # largest output difference

    def __str__(self):
        return (f"top-1 agreement {self.agreement:.1%}, accuracy {self.keras_accuracy:.1%} (Keras) "
                f"vs {self.exported_accuracy:.1%} (exported), max |difference| {self.max_abs_diff:.3g}")


def run_batched(exported, x, batch_size=64):
    """The outputs of a callable exported model (e.g. export.TFLiteModel) on x, in batches."""
    return np.concatenate([exported(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def compare(keras_model, exported, x, y):
    """Compare a Keras model with a callable exported model (e.g. export.TFLiteModel) on x, y."""
    reference = keras_model.predict(x, verbose=0)
    got = run_batched(exported, x)
    return Comparison(agreement=float(np.mean(reference.argmax(-1) == got.argmax(-1))),
                      keras_accuracy=float(np.mean(reference.argmax(-1) == y)),
                      exported_accuracy=float(np.mean(got.argmax(-1) == y)),
                      max_abs_diff=float(np.abs(reference - got).max()))
