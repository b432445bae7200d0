"""Make docs/sample_before_after.png: a crop of one frame of the Quickstart sample, bicubic | built-in model.

Why a crop: at full size the two halves of a 1024x576 side-by-side look alike in a README; a 2x enlarged
crop of a detailed region (nearest-neighbour, so no extra smoothing) shows what the model changes.

    .venv/bin/python docs/make_before_after.py [--frame 12] [--model tiny]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample" / "sample.mp4"


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a caption bar above it."""
    bar = np.full((28, image.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, image], axis=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frame", type=int, default=12)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--box", type=int, nargs=4, default=(470, 80, 200, 180), metavar=("X", "Y", "W", "H"),
                        help="crop in output pixels (default: the rocket's nose and logo in the sample)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "sample_before_after.png")
    args = parser.parse_args()

    from vrt_engine.job import JobSettings, preview_frame

    pair = preview_frame(SAMPLE, args.frame, JobSettings(model=args.model))
    x, y, w, h = args.box
    crops = []
    for name, image in (("bicubic x4", pair.bicubic), (f"VRT {args.model} x4", pair.upscaled)):
        crop = np.ascontiguousarray(image[y : y + h, x : x + w])
        crop = cv2.resize(crop, (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST)
        crops.append(labelled(crop, name))
    divider = np.full((crops[0].shape[0], 6, 3), 255, np.uint8)
    picture = np.concatenate([crops[0], divider, crops[1]], axis=1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    print(f"saved {args.out} (frame {args.frame}, box {x},{y} {w}x{h}, model {args.model})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
