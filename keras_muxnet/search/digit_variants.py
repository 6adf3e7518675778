"""Seeded small affine copies of images: the search's short evaluation trains and scores on them.

On the 540 plain held-out digits (one image is 0.19 points) the candidates' true accuracies lie
within the seed noise, so two seeds rank them differently (Kendall's tau 0.07). Training on
shifted, scaled and rotated copies of the digits makes the task harder in distribution and
spreads the candidates beyond that noise, and scoring copies of every held-out image averages
out which borderline images a run gets right (tau 0.60-0.73, docs/search_hardware.md). The
copies are drawn once from their own seed (not the training seed), so every candidate, every
training seed and every MobileNetV3 peer sees the same images.
"""

import dataclasses
import hashlib

import numpy as np

_MADE = {}  # the last few sets made: every candidate of a search asks for the same ones
_KEPT = 4


@dataclasses.dataclass(frozen=True)
class Variants:
    """How far a variant may move from its image (each drawn uniformly in +-range).

    Args:
      copies: images per original (the first copy is the original itself).
      shift: translation, as a fraction of the image's side.
      scale: relative zoom (0.1: 0.9x to 1.1x).
      rotation: degrees.
      seed: draws the variants' parameters (fixed: the same set for every candidate and seed).
    """

    copies: int = 8
    shift: float = 0.08
    scale: float = 0.1
    rotation: float = 12.0
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.copies, int) or self.copies < 1:
            raise ValueError(f"copies must be a positive integer, got {self.copies!r}")
        if not 0 <= self.shift < 0.5 or not 0 <= self.scale < 0.5 or not 0 <= self.rotation <= 45:
            raise ValueError(f"need shift and scale in [0, 0.5) and rotation in [0, 45] degrees: {self}")

    def apply(self, images, labels):
        """(N*copies images, N*copies labels), read-only: copy 0 is `images` unchanged, copies
        1.. each a random affine map (about the centre, empty space filled with 0) of every
        image. The same call again returns the same arrays without redrawing them.

        `images` is N x H x W x C (float; the digits' background is 0)."""
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 4 or len(images) != len(labels):
            raise ValueError(f"need N x H x W x C images and N labels, got {images.shape} and {labels.shape}")
        key = (self, images.shape, hashlib.sha1(images.tobytes() + labels.tobytes()).hexdigest())
        if key not in _MADE:
            while len(_MADE) >= _KEPT:
                _MADE.pop(next(iter(_MADE)))
            _MADE[key] = self._make(images, labels)
        return _MADE[key]

    def _make(self, images, labels):
        rng = np.random.default_rng(self.seed)
        out = [images.astype(np.float32)]
        for _ in range(self.copies - 1):
            out.append(np.stack([warp(image, *self._draw(rng, image.shape)) for image in images]))
        made = np.concatenate(out), np.tile(labels, self.copies)
        for array in made:
            array.setflags(write=False)
        return made

    def _draw(self, rng, shape):
        side = np.array(shape[:2], float)
        angle = np.deg2rad(rng.uniform(-self.rotation, self.rotation))
        zoom = 1.0 + rng.uniform(-self.scale, self.scale)
        return angle, zoom, rng.uniform(-self.shift, self.shift, 2) * side


def warp(image, angle, zoom, shift):
    """`image` (H x W x C) rotated by `angle` (radians) and zoomed by `zoom` about its centre,
    then moved by `shift` (rows, columns) pixels; bilinear, 0 outside."""
    from scipy import ndimage

    centre = (np.array(image.shape[:2], float) - 1) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    inverse = np.array([[cos, sin], [-sin, cos]]) / zoom  # output -> input coordinates
    offset = centre - inverse @ (centre + np.asarray(shift, float))
    return np.stack([ndimage.affine_transform(image[..., c], inverse, offset, order=1, cval=0.0)
                     for c in range(image.shape[-1])], axis=-1).astype(np.float32)
