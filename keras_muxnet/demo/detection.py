"""Demo step: SSDLite-MUXNet-xs learns digit scenes on the CPU, then draws its detections on a
held-out scene (a PNG a person can look at)."""

import os

import numpy as np

DEMO_SIZE = 128
DEMO_SCENES = 1000
DEMO_EPOCHS = 6
SCORE_THRESHOLD = 0.3
AT_LEAST = 3  # a weak detector's best boxes are drawn all the same, with their scores


def step_detection(ctx):
    """Train briefly on digit scenes, report held-out mAP, draw one held-out scene's boxes."""
    from keras_muxnet.detection import SSDLite, anchors, digit_scenes, drawing, fitting

    train, heldout = digit_scenes.load_digit_scenes(DEMO_SCENES, 100, size=DEMO_SIZE, seed=0)
    model = SSDLite("muxnet_xs", num_classes=digit_scenes.NUM_CLASSES, input_size=DEMO_SIZE,
                    anchor_layout=anchors.DIGIT_SCENES)
    result = fitting.train(model, train, heldout, epochs=DEMO_EPOCHS, verbose=2)
    print(f"SSDLite-MUXNet-xs trained {result['epochs']} epochs on {DEMO_SCENES} digit scenes in "
          f"{result['seconds']:.0f} s: held-out mAP@0.5 {result['map50']:.3f}, "
          f"AP@[.5:.95] {result['map']:.3f}")
    print("(near 0 is expected: trained from scratch in this demo's few minutes the detector "
          "barely starts to learn; `keras-muxnet detect train`, 4000 scenes x 8 epochs at "
          "192x192 with a stride-8 feature pyramid, reaches 0.83 held-out mAP@0.5 in about 12 "
          "minutes, see the README)")
    out = model.predict(heldout[0][:1], verbose=0)
    found = int(out["num_detections"][0])
    confidence = np.asarray(out["confidence"][0][:found])
    keep = np.flatnonzero(confidence >= SCORE_THRESHOLD)
    if len(keep) < AT_LEAST:
        keep = np.argsort(-confidence, kind="stable")[:AT_LEAST]
    path = drawing.save(os.path.join(ctx["out"], "detections.png"), heldout[0][0],
                        out["boxes"][0][keep], out["labels"][0][keep], confidence[keep])
    print(f"{len(keep)} detections (scores {np.round(confidence[keep], 2).tolist()}, labels "
          f"{np.asarray(out['labels'][0])[keep].tolist()}) drawn into {path}; true digits: "
          f"{sorted(heldout[2][0].tolist())}")
    ctx["detection_map50"] = result["map50"]
    ctx["detection_picture"] = path
