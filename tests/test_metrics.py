"""Metrics must give the reference's numbers: hand values, an oracle of its evaluation path, skimage."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from vrt_engine.metrics import frame_metrics, psnr, rgb_to_y, ssim


def noisy_pair(h: int = 48, w: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(yy * 5) % 256, (xx * 7) % 256, (yy * xx) % 256], axis=-1).astype(np.float64)
    gt = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).round().astype(np.uint8)
    out = np.clip(gt + rng.normal(0, 8, gt.shape), 0, 255).round().astype(np.uint8)
    return out, gt


# ---------------------------------------------------------------- PSNR


def test_psnr_identical_is_inf():
    a = np.full((16, 16, 3), 77, np.uint8)
    assert psnr(a, a.copy()) == math.inf


def test_psnr_known_mse():
    a = np.zeros((20, 20, 3), np.uint8)
    b = np.full((20, 20, 3), 5, np.uint8)
    assert psnr(a, b) == pytest.approx(20 * math.log10(51), abs=1e-12)  # MSE 25 -> 34.1514 dB
    assert psnr(a, b) == pytest.approx(34.15140352195873, abs=1e-9)
    c = a.copy()
    c[0, 0, 0] = 255  # MSE = 255^2 / 1200
    assert psnr(a, c) == pytest.approx(10 * math.log10(1200), abs=1e-9)


def test_psnr_uint8_does_not_wrap():
    a = np.zeros((8, 8), np.uint8)
    b = np.full((8, 8), 255, np.uint8)
    assert psnr(a, b) == pytest.approx(0.0, abs=1e-12)
    assert psnr(b, a) == pytest.approx(0.0, abs=1e-12)


def test_psnr_border_crop():
    a = np.zeros((20, 20), np.uint8)
    b = a.copy()
    b[:2, :] = 100  # only in the cropped border
    assert psnr(a, b, border=2) == math.inf
    assert psnr(a, b, border=1) < 40


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError):
        ssim(np.zeros((20, 20)), np.zeros((20, 21)))


# ---------------------------------------------------------------- SSIM


def test_ssim_identical_is_one():
    out, _ = noisy_pair()
    assert ssim(out, out.copy()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_constant_images_hand_value():
    # flat images: sigmas are 0, so SSIM = (2*m1*m2 + C1) / (m1^2 + m2^2 + C1)
    a = np.full((20, 20), 100, np.uint8)
    b = np.full((20, 20), 110, np.uint8)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1), abs=1e-9)


def test_ssim_matches_skimage_gaussian():
    """skimage with these options is the same quantity: its Gaussian (truncate 3.5 -> radius 5 ->
    11 taps, normalised) equals cv2.getGaussianKernel(11, 1.5), covariance is the population one,
    and it too averages only the map 5 pixels away from the border ('valid'). The only difference
    is how the filters round (cv2.filter2D 2-D kernel vs scipy's separable passes), so the two
    agree to ~1e-15 here, far inside the ~1e-3 one would accept; 1e-9 still catches any change
    in window, constants or crop."""
    out, gt = noisy_pair(64, 56, seed=1)
    for ch in range(3):
        ref = structural_similarity(
            out[..., ch], gt[..., ch], gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=255,
        )
        assert ssim(out[..., ch], gt[..., ch]) == pytest.approx(ref, abs=1e-9)
    ref_rgb = structural_similarity(
        out, gt, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=2
    )
    assert ssim(out, gt) == pytest.approx(ref_rgb, abs=1e-9)
    assert 0.3 < ssim(out, gt) < 0.99  # a real, non-trivial value


def test_ssim_single_channel_and_small_images():
    out, gt = noisy_pair()
    assert ssim(out[..., :1], gt[..., :1]) == ssim(out[..., 0], gt[..., 0])
    with pytest.raises(ValueError):
        ssim(out[:10, :40], gt[:10, :40])
    with pytest.raises(ValueError):
        ssim(out[..., :2], gt[..., :2])


# ---------------------------------------------------------------- luma


def ref_bgr2ycbcr_y(img: np.ndarray) -> np.ndarray:
    """The reference's Y branch, restated: BGR dot (24.966, 128.553, 65.481)/255 + 16."""
    if img.dtype == np.uint8:
        return (np.dot(img, [24.966, 128.553, 65.481]) / 255.0 + 16.0).round().astype(np.uint8)
    scaled = img * 255.0
    return ((np.dot(scaled, [24.966, 128.553, 65.481]) / 255.0 + 16.0) / 255.0).astype(img.dtype)


def test_rgb_to_y_hand_values():
    px = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    assert rgb_to_y(px).tolist() == [[16, 235, 81, 145, 41]]  # 16 + 65.481 / 128.553 / 24.966, rounded
    y = rgb_to_y(px.astype(np.float32) / 255.0) * 255.0
    np.testing.assert_allclose(y[0], [16, 235, 81.481, 144.553, 40.966], atol=1e-4)
    assert y.dtype == np.float32


def test_rgb_to_y_equals_reference_bgr_on_swapped_channels():
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    np.testing.assert_array_equal(rgb_to_y(rgb), ref_bgr2ycbcr_y(bgr))
    f = rgb.astype(np.float32) / 255.0
    before = f.copy()
    np.testing.assert_array_equal(rgb_to_y(f), ref_bgr2ycbcr_y(np.ascontiguousarray(f[..., ::-1])))
    np.testing.assert_array_equal(f, before)  # input not scaled in place (the reference's side effect)


# ---------------------------------------------------------------- frame_metrics


def ref_frame_metrics(out_rgb: np.ndarray, gt_rgb: np.ndarray) -> dict[str, float]:
    """main_test_vrt.py's evaluation, restated independently on BGR uint8 frames."""

    def ref_psnr(a, b):
        mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
        return float("inf") if mse == 0 else 20 * math.log10(255.0 / math.sqrt(mse))

    def ref_ssim_plane(a, b):
        a = a.astype(np.float64)
        b = b.astype(np.float64)
        k = cv2.getGaussianKernel(11, 1.5)
        win = np.outer(k, k.transpose())
        f = lambda x: cv2.filter2D(x, -1, win)[5:-5, 5:-5]  # noqa: E731
        m1, m2 = f(a), f(b)
        s1, s2, s12 = f(a**2) - m1**2, f(b**2) - m2**2, f(a * b) - m1 * m2
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        return (((2 * m1 * m2 + c1) * (2 * s12 + c2)) / ((m1**2 + m2**2 + c1) * (s1 + s2 + c2))).mean()

    out_bgr = np.ascontiguousarray(out_rgb[..., ::-1])
    gt_bgr = np.ascontiguousarray(gt_rgb[..., ::-1])
    y_out = ref_bgr2ycbcr_y(out_bgr.astype(np.float32) / 255.0) * 255.0
    y_gt = ref_bgr2ycbcr_y(gt_bgr.astype(np.float32) / 255.0) * 255.0
    return {
        "psnr": ref_psnr(out_bgr, gt_bgr),
        "ssim": np.array([ref_ssim_plane(out_bgr[..., i], gt_bgr[..., i]) for i in range(3)]).mean(),
        "psnr_y": ref_psnr(y_out, y_gt),
        "ssim_y": ref_ssim_plane(y_out, y_gt),
    }


def test_frame_metrics_matches_reference_evaluation():
    out, gt = noisy_pair(40, 52, seed=9)
    got = frame_metrics(out, gt)
    ref = ref_frame_metrics(out, gt)
    assert set(got) == {"psnr", "ssim", "psnr_y", "ssim_y"}
    for key in got:
        assert got[key] == float(ref[key]), key  # same arithmetic, same bits
    assert 25 < got["psnr"] < 35 and got["psnr_y"] > got["psnr"]  # luma averages noise down


def test_frame_metrics_identical_and_grey():
    out, _ = noisy_pair()
    same = frame_metrics(out, out.copy())
    assert same["psnr"] == math.inf and same["psnr_y"] == math.inf
    assert same["ssim"] == pytest.approx(1.0) and same["ssim_y"] == pytest.approx(1.0)
    grey = frame_metrics(out[..., 0], np.roll(out[..., 0], 1, axis=0))
    assert grey["psnr_y"] == grey["psnr"] and grey["ssim_y"] == grey["ssim"]
    with pytest.raises(ValueError):
        frame_metrics(out.astype(np.float32), out.astype(np.float32))
