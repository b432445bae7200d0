"""A mini-REDS made from the photographs scikit-image ships, for tests and the built-in model.

Each clip is one photograph seen through a synthetic camera: a smooth pan, zoom and small rotation
with sub-pixel jitter (cv2.warpAffine on the full-resolution image), so consecutive frames differ by
real, learnable motion. LQ frames are the MATLAB-style antialiased bicubic x4 downscale of the GT
frames, the degradation REDS' sharp_bicubic was made with. Everything is a function of the seed.

Held-out photographs never appear in the training clips; their clips are written as REDS' validation
split (``val_sharp``), which ``prepare-reds`` regroups into clips 240+ (the 'official' partition).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .matlab_resize import imresize
from .reds import frame_name, write_png_rgb

# Photographs in skimage.data that load offline (files inside the package); 'cat' is chelsea again.
PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "camera", "moon", "coins", "brick", "grass", "gravel",
)
DEFAULT_HOLDOUT = ("coffee",)
SCALE = 4


def load_photo(name: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB photograph from skimage.data (grey ones repeated to 3 channels)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photograph '{name}' (known: {', '.join(PHOTOS)})")
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate: clip count, frames per clip, GT frame size, held-out photographs, seed."""

    clips: int = 4
    frames: int = 6
    width: int = 256
    height: int = 256
    holdout: tuple[str, ...] = DEFAULT_HOLDOUT
    seed: int = 0

    def check(self) -> None:
        if self.clips < 1 or self.frames < 1:
            raise ValueError("--clips and --frames must be at least 1")
        if self.width % SCALE or self.height % SCALE or min(self.width, self.height) < 4 * SCALE:
            raise ValueError(f"--size {self.width}x{self.height}: both sides must be multiples of {SCALE}, >= 16")
        unknown = [h for h in self.holdout if h not in PHOTOS]
        if unknown:
            raise ValueError(f"--holdout: unknown photograph(s) {', '.join(unknown)} (known: {', '.join(PHOTOS)})")
        if len(set(PHOTOS) - set(self.holdout)) == 0:
            raise ValueError("--holdout: at least one photograph must remain for training")


def camera_path(rng: np.random.Generator, frames: int) -> list[tuple[float, float, float, float]]:
    """Per-frame (dx, dy, zoom, angle): a smooth pan/zoom/rotation plus sub-pixel jitter."""
    vx, vy = rng.uniform(-3.0, 3.0, 2)
    zoom_rate = rng.uniform(-0.01, 0.01)
    spin = rng.uniform(-0.4, 0.4)  # degrees per frame
    out = []
    for t in range(frames):
        jx, jy = rng.uniform(-0.5, 0.5, 2)
        out.append((vx * t + jx, vy * t + jy, 1.0 + zoom_rate * t, spin * t))
    return out


def render_clip(photo: np.ndarray, size: tuple[int, int], rng: np.random.Generator, frames: int) -> list[np.ndarray]:
    """GT frames (H, W, 3) uint8 of a photograph under a random camera path."""
    width, height = size
    ih, iw = photo.shape[:2]
    # Base magnification: the view (plus room for the motion) must stay inside the photograph.
    base = max(width / iw, height / ih) * 1.25 * math.sqrt(2)
    base = max(base, rng.uniform(0.6, 1.0))
    cx0 = rng.uniform(0.4, 0.6) * iw
    cy0 = rng.uniform(0.4, 0.6) * ih
    out = []
    for dx, dy, zoom, angle in camera_path(rng, frames):
        m = cv2.getRotationMatrix2D((cx0 + dx, cy0 + dy), angle, base * zoom)
        m[0, 2] += width / 2 - (cx0 + dx)
        m[1, 2] += height / 2 - (cy0 + dy)
        frame = cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        out.append(frame)
    return out


def _write_clip(root: Path, split: str, name: str, gts: Sequence[np.ndarray]) -> None:
    for t, gt in enumerate(gts):
        write_png_rgb(root / f"{split}_sharp" / name / f"{frame_name(t)}.png", gt)
        lq = imresize(gt, 1 / SCALE)
        write_png_rgb(root / f"{split}_sharp_bicubic" / "X4" / name / f"{frame_name(t)}.png", lq)


def make_synthetic(dst: str | Path, spec: SyntheticSpec) -> dict:
    """Write the mini-REDS into ``dst`` (which must not exist or be empty); returns the manifest."""
    spec.check()
    dst = Path(dst)
    if dst.exists() and any(dst.iterdir()):
        raise ValueError(f"{dst}: already exists and is not empty")
    dst.mkdir(parents=True, exist_ok=True)
    train_photos = [p for p in PHOTOS if p not in spec.holdout]
    manifest: dict = {"seed": spec.seed, "size": [spec.width, spec.height], "frames": spec.frames, "scale": SCALE,
                      "degradation": "MATLAB imresize bicubic x1/4 with antialiasing",
                      "holdout": list(spec.holdout), "train": {}, "val": {}}
    photos: dict[str, np.ndarray] = {}
    for i in range(spec.clips):
        name = train_photos[i % len(train_photos)]
        photo = photos.setdefault(name, load_photo(name))
        rng = np.random.default_rng([spec.seed, 0, i])
        _write_clip(dst, "train", f"{i:03d}", render_clip(photo, (spec.width, spec.height), rng, spec.frames))
        manifest["train"][f"{i:03d}"] = name
    for j, name in enumerate(spec.holdout):
        rng = np.random.default_rng([spec.seed, 1, j])
        _write_clip(dst, "val", f"{j:03d}", render_clip(load_photo(name), (spec.width, spec.height), rng, spec.frames))
        manifest["val"][f"{j:03d}"] = name
    (dst / "synthetic.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
