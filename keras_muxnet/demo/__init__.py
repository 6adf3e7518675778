"""`keras-muxnet demo`, the README's main job: one step after another, each printing what it
checked and failing loudly when a check does not hold.

Demonstration code, not API: nothing in the package imports it except the `demo` command. A new
feature adds its step as a module here and joins STEPS.
"""

import os
import tempfile

from keras_muxnet.demo.detection import step_detection
from keras_muxnet.demo.digits_training import step_finetune
from keras_muxnet.demo.imagenet_weights import step_imagenet_weights
from keras_muxnet.demo.photo import step_photo_and_save
from keras_muxnet.demo.search_core import step_search_core
from keras_muxnet.demo.tflite_int8 import step_export_int8
from keras_muxnet.demo.variants import step_profiles

STEPS = [step_profiles, step_photo_and_save, step_imagenet_weights, step_finetune,
         step_export_int8, step_search_core, step_detection]


def run(out=None, steps=STEPS):
    """Run the steps in order; files go to `out` (default: a temporary folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = {"out": out or tmp}
        os.makedirs(ctx["out"], exist_ok=True)
        for number, step in enumerate(steps, 1):
            print(f"\n== {number}. {step.__doc__.splitlines()[0]}", flush=True)
            step(ctx)
    print("\ndemo finished")
