"""The int8 detector's held-out mAP beside Keras's, per way of setting int8 ranges and per set of
calibration scenes (issue 11: int8 mAP@0.5 within 0.02 of Keras's).

    PYTHONPATH=. python dev/int8_calibration.py DIR/detector.keras --sets 3 [--seed S]

Set k calibrates on training scenes 200k..200k+199 (`--calibration` 200) of
`load_digit_scenes(seed=--seed)` (the seed the detector was trained with, default 0); every set
scores the same --heldout 300 held-out scenes.
On today's default detector (`detect train --seed 0`: 8 epochs of batch 32, Keras mAP@0.5 0.832,
COCO AP 0.605), `--ranges average`, sets 0 / 1 / 2: int8 mAP@0.5 0.838 / 0.839 / 0.839 (gap
+0.005..+0.007), COCO AP 0.609.
Measured on an earlier `detect train --dataset digit-scenes --model ssdlite_muxnet_xs` detector
(4 epochs of batch 16, stride8_fpn, 192 px; Keras mAP@0.5 0.537, COCO AP 0.354), sets 0 / 1 / 2:
  min/max ranges (TFLite's), no gate clipping (before export.saturation): int8 mAP@0.5
    0.507 / 0.516 / 0.470, COCO AP 0.304 / 0.311 / 0.283
  "min_max" (gates clipped):  0.524 / 0.520 / 0.476 (gap -0.030, -0.061..-0.013), AP 0.307
  "average" (gates clipped, the default):  0.557 / 0.556 / 0.557 (gap +0.020), AP 0.367
A second detector (an earlier `detect train` run, the layout before stride8_fpn, 4 epochs,
batch 32; Keras mAP@0.5 0.280, COCO AP 0.172), sets 0 / 1: "min_max" 0.190 / 0.172 (gap
-0.099), "average" 0.281 / 0.281 (gap +0.001), AP 0.171.
Also tried, gates clipped: each tensor's range clipped where the int8 error of its histogram
(rounding + clipping, squared) is least: 0.515 / 0.511 / 0.521, AP 0.322.
"""

import argparse

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--sets", type=int, default=3)
    parser.add_argument("--calibration", type=int, default=200)
    parser.add_argument("--heldout", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0, help="the detector's `detect train --seed`")
    parser.add_argument("--ranges", nargs="+", default=None, help="int8_ranges choices to compare")
    args = parser.parse_args()

    from keras_muxnet._keras import keras
    from keras_muxnet.detection import SSDLite, digit_scenes, export, fitting  # noqa: F401
    from keras_muxnet.detection.int8_fidelity import int8_scores

    model = keras.models.load_model(args.path)
    train, heldout = digit_scenes.load_digit_scenes(args.sets * args.calibration, args.heldout,
                                                    size=model.input_size, seed=args.seed)
    reference = fitting.evaluate(model, *heldout)
    print(f"Keras: mAP@0.5 {reference['map50']:.4f}, COCO AP {reference['map']:.4f}", flush=True)
    for ranges in args.ranges or export.INT8_RANGES:
        found = []
        for k in range(args.sets):
            images = train[0][k * args.calibration:(k + 1) * args.calibration]
            flatbuffer = export.convert(model, "int8", images, int8_ranges=ranges)
            scores = int8_scores(model, None, heldout, flatbuffer=flatbuffer)
            found.append((scores["int8_map50"], scores["int8_map"]))
            print(f"{ranges:8s} set {k}: int8 mAP@0.5 {found[-1][0]:.4f}, COCO AP "
                  f"{found[-1][1]:.4f}", flush=True)
        map50, ap = np.array(found).T
        gaps = map50 - reference["map50"]
        print(f"{ranges:8s} int8 mAP@0.5 {map50.mean():.4f} +- {map50.std():.4f} (gap to Keras "
              f"{gaps.mean():+.4f}, {gaps.min():+.4f}..{gaps.max():+.4f}); COCO AP "
              f"{ap.mean():.4f} +- {ap.std():.4f}", flush=True)


if __name__ == "__main__":
    main()
