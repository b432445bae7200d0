"""PSNR and SSIM computed exactly as the VRT reference evaluation does (plain numpy + OpenCV).

Scores are only comparable with the published ones if the arithmetic matches: the reference
(``utils/utils_image.py``: ``calculate_psnr``, ``calculate_ssim``, ``bgr2ycbcr``, as called by
``main_test_vrt.py``) works on uint8 images in float64, crops ``border`` pixels, computes SSIM
with an 11x11 Gaussian (sigma 1.5) through ``cv2.filter2D`` keeping only the 'valid' region, and
averages SSIM over channels. Its luma is BT.601 studio range (16..235) on *unrounded* float32 Y.

The reference holds images as BGR; our frames are RGB. Functions here take RGB and reorder
internally wherever the order changes a floating-point sum, so the numbers are the same bits.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# BT.601 luma for studio range, in B, G, R order as the reference's bgr2ycbcr dot product.
_Y_COEFFS_BGR = [24.966, 128.553, 65.481]

_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2
_SSIM_RADIUS = 5  # an 11x11 window: the 'valid' region drops 5 pixels on every side


def _crop(img: np.ndarray, border: int) -> np.ndarray:
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    h, w = img.shape[:2]
    return img[border : h - border, border : w - border]


def _check_pair(img1: np.ndarray, img2: np.ndarray) -> None:
    if img1.shape != img2.shape:
        raise ValueError(f"images differ in shape: {img1.shape} vs {img2.shape}")


def psnr(img1: np.ndarray, img2: np.ndarray, border: int = 0) -> float:
    """PSNR in dB for images in [0, 255] (any channel count), peak 255; ``inf`` when identical.

    ``inf`` is what the reference returns too, so a per-video mean over such frames is ``inf``.
    """
    _check_pair(img1, img2)
    a = _crop(img1, border).astype(np.float64)
    b = _crop(img2, border).astype(np.float64)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return 20 * math.log10(255.0 / math.sqrt(mse))


def _ssim_plane(img1: np.ndarray, img2: np.ndarray) -> float:
    """SSIM of two 2-D planes: Gaussian statistics, 'valid' region only, mean of the SSIM map."""
    a = img1.astype(np.float64)
    b = img2.astype(np.float64)
    if min(a.shape) <= 2 * _SSIM_RADIUS:
        raise ValueError(f"SSIM needs images of at least 11x11 after the border crop, got {a.shape}")
    g = cv2.getGaussianKernel(2 * _SSIM_RADIUS + 1, 1.5)
    window = np.outer(g, g.transpose())
    r = _SSIM_RADIUS

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.filter2D(x, -1, window)[r:-r, r:-r]

    mu1 = blur(a)
    mu2 = blur(b)
    mu1_sq = mu1**2
    mu2_sq = mu2**2
    mu1_mu2 = mu1 * mu2
    sigma1_sq = blur(a**2) - mu1_sq
    sigma2_sq = blur(b**2) - mu2_sq
    sigma12 = blur(a * b) - mu1_mu2
    # Same grouping as the reference so the result is the same to the last bit.
    ssim_map = ((2 * mu1_mu2 + _SSIM_C1) * (2 * sigma12 + _SSIM_C2)) / (
        (mu1_sq + mu2_sq + _SSIM_C1) * (sigma1_sq + sigma2_sq + _SSIM_C2)
    )
    return float(ssim_map.mean())


def ssim(img1: np.ndarray, img2: np.ndarray, border: int = 0) -> float:
    """SSIM for images in [0, 255]: HxW, HxWx1, or HxWx3 (mean of the per-channel SSIMs in array order).

    The channel mean's float sum depends on the order; :func:`frame_metrics` passes BGR like the
    reference. Images must be at least 11x11 after the crop (the reference would give NaN).
    """
    _check_pair(img1, img2)
    a = _crop(img1, border)
    b = _crop(img2, border)
    if a.ndim == 2:
        return _ssim_plane(a, b)
    if a.ndim == 3 and a.shape[2] == 1:
        return _ssim_plane(a[..., 0], b[..., 0])
    if a.ndim == 3 and a.shape[2] == 3:
        return float(np.array([_ssim_plane(a[..., i], b[..., i]) for i in range(3)]).mean())
    raise ValueError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {a.shape}")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 studio-range luma (MATLAB ``rgb2ycbcr`` Y) of an RGB image, as the reference's
    ``bgr2ycbcr(only_y=True)`` gives for the same pixels in BGR order.

    uint8 in [0, 255] gives rounded uint8 in [16, 235]; float in [0, 1] gives the same float
    dtype in [16/255, 235/255], unrounded (the path the reference evaluation uses). Unlike the
    reference, the input is never modified in place.
    """
    if img.ndim < 1 or img.shape[-1] != 3:
        raise ValueError(f"expected an ...x3 RGB image, got shape {img.shape}")
    bgr = img[..., ::-1]
    if img.dtype == np.uint8:
        return (np.dot(bgr, _Y_COEFFS_BGR) / 255.0 + 16.0).round().astype(np.uint8)
    y = np.dot(bgr * 255.0, _Y_COEFFS_BGR) / 255.0 + 16.0
    return (y / 255.0).astype(img.dtype)


def _y_255(img_rgb_uint8: np.ndarray) -> np.ndarray:
    """Luma in [0, 255] exactly as the reference evaluation makes it: float32, not rounded."""
    return rgb_to_y(img_rgb_uint8.astype(np.float32) / 255.0) * 255.0


def frame_metrics(output_rgb: np.ndarray, gt_rgb: np.ndarray, border: int = 0) -> dict[str, float]:
    """PSNR/SSIM on RGB and on luma Y for one uint8 frame pair, as ``main_test_vrt.py`` reports.

    Keys: ``psnr``, ``ssim``, ``psnr_y``, ``ssim_y``. Grey (HxW) frames report the RGB values as Y,
    as the reference does. Average over frames, then over videos, to match its tables.
    """
    _check_pair(output_rgb, gt_rgb)
    if output_rgb.dtype != np.uint8 or gt_rgb.dtype != np.uint8:
        raise ValueError("frame_metrics expects uint8 frames (round and clip model output first)")
    if output_rgb.ndim == 2:
        value_psnr = psnr(output_rgb, gt_rgb, border)
        value_ssim = ssim(output_rgb, gt_rgb, border)
        return {"psnr": value_psnr, "ssim": value_ssim, "psnr_y": value_psnr, "ssim_y": value_ssim}
    out_bgr = output_rgb[..., ::-1]
    gt_bgr = gt_rgb[..., ::-1]
    y_out = _y_255(output_rgb)
    y_gt = _y_255(gt_rgb)
    return {
        "psnr": psnr(out_bgr, gt_bgr, border),
        "ssim": ssim(out_bgr, gt_bgr, border),
        "psnr_y": psnr(y_out, y_gt, border),
        "ssim_y": ssim(y_out, y_gt, border),
    }
