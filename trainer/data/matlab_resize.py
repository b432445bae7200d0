"""MATLAB ``imresize`` (bicubic, antialiased) in numpy.

REDS' ``sharp_bicubic`` frames were made with MATLAB's imresize, which widens the cubic kernel by the
scale when shrinking (antialiasing); ``cv2.resize(INTER_CUBIC)`` does not, and a model trained on one
degradation loses PSNR on the other. This reproduces MATLAB's arithmetic: Keys' cubic with a = -0.5,
kernel width 4 (times 1/scale when downscaling), sample positions ``u = x/scale + 0.5 * (1 - 1/scale)``,
symmetric edge padding, weights normalised per output sample, one axis at a time (rows first).
"""

from __future__ import annotations

import math

import numpy as np


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = 1.5 * ax3 - 2.5 * ax2 + 1.0
    outer = -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    return inner * (ax <= 1) + outer * ((ax > 1) & (ax <= 2))


def contributions(in_len: int, out_len: int, scale: float, antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(weights, indices), each (out_len, taps): which input samples make each output sample, and how much."""
    kernel_width = 4.0
    shrink = scale < 1 and antialias
    if shrink:
        kernel_width /= scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # 1-based input position of each output sample
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based
    dist = u[:, None] - idx
    weights = scale * cubic(dist * scale) if shrink else cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Drop taps that are zero for every output sample (MATLAB trims the same columns).
    keep = np.any(weights != 0, axis=0)
    weights, idx = weights[:, keep], idx[:, keep]
    # Symmetric padding: mirror indices that fall outside [1, in_len], edge sample repeated.
    aux = np.concatenate([np.arange(1, in_len + 1), np.arange(in_len, 0, -1)])
    idx = aux[np.mod(idx.astype(np.int64) - 1, aux.size)] - 1
    return weights, idx


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    weights, idx = contributions(img.shape[axis], out_len, scale, antialias)
    moved = np.moveaxis(img, axis, 0)  # (in_len, ...)
    gathered = moved[idx]  # (out_len, taps, ...)
    w = weights.reshape(weights.shape + (1,) * (moved.ndim - 1))
    return np.moveaxis((gathered * w).sum(axis=1), 0, axis)


def imresize(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image by ``scale`` as MATLAB's ``imresize(img, scale, 'bicubic')``.

    uint8 input is computed in float64 and rounded back to uint8 (halves away from zero, as MATLAB);
    float input stays float (no clipping).
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize: expected an (H, W) or (H, W, C) image, got shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    out = img.astype(np.float64)
    out_h, out_w = (int(math.ceil(s * scale)) for s in img.shape[:2])
    # MATLAB resizes along the dimension with the smaller scale first; with one scale that is rows first.
    out = _resize_axis(out, 0, out_h, scale, antialias)
    out = _resize_axis(out, 1, out_w, scale, antialias)
    if is_uint8:
        return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)  # MATLAB rounds halves up here
    return out.astype(img.dtype if img.dtype.kind == "f" else np.float64)
