"""Validation: whole clips through the model with the test-time chunks and tiles, PSNR per clip.

Uses vrt_engine.tiling (the reference's test_video/test_clip arithmetic) and vrt_engine.metrics
(PSNR as the reference computes it: uint8 frames, RGB and luma Y), averaged over frames, then clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Config
from .data.reds import clip_frames, frame_name, read_png_rgb


@dataclass
class ValClip:
    name: str
    lq: np.ndarray  # (1, T, 3, h, w) float32 in [0, 1]
    gt: np.ndarray  # (T, H, W, 3) uint8


def load_val_clips(cfg: Config) -> list[ValClip]:
    """The validation clips the recipe names (empty when it names no validation folders)."""
    v = cfg.data.val
    if not v.dataroot_gt or not v.dataroot_lq:
        return []
    gt_root, lq_root = Path(v.dataroot_gt), Path(v.dataroot_lq)
    for root in (gt_root, lq_root):
        if not root.is_dir():
            raise ValueError(f"{root}: validation folder not found")
    names = v.clips or sorted(p.name for p in gt_root.iterdir() if p.is_dir())
    clips = []
    for name in names:
        frames = clip_frames(gt_root / name) if (gt_root / name).is_dir() else []
        if not frames:
            raise ValueError(f"{gt_root / name}: validation clip has no frames")
        frames = frames[: v.max_frames] if v.max_frames else frames
        gt = np.stack([read_png_rgb(gt_root / name / f"{frame_name(i)}.png") for i in frames])
        lq = np.stack([read_png_rgb(lq_root / name / f"{frame_name(i)}.png") for i in frames])
        clips.append(ValClip(name, (lq.transpose(0, 3, 1, 2)[None] / 255.0).astype(np.float32), gt))
    return clips


def _psnr_y(out: np.ndarray, gt: np.ndarray) -> float:
    from vrt_engine.metrics import psnr, rgb_to_y

    return psnr(rgb_to_y(out.astype(np.float32) / 255.0) * 255.0, rgb_to_y(gt.astype(np.float32) / 255.0) * 255.0)


def validate(model, cfg: Config, clips: list[ValClip]) -> dict[str, float]:
    """Mean PSNR (RGB) and PSNR-Y over clips, plus one entry per clip."""
    import mindspore as ms

    from vrt_engine import tiling
    from vrt_engine.metrics import psnr

    arch = model.cfg
    window = tuple(arch.window_size)
    was_training = model.training
    model.set_train(False)

    def forward(x: np.ndarray) -> np.ndarray:
        return model(ms.Tensor(np.ascontiguousarray(x, dtype=np.float32))).asnumpy()

    results: dict[str, float] = {}
    all_rgb, all_y = [], []
    try:
        for clip in clips:
            out = tiling.upscale_video(
                clip.lq, forward, arch.upscale, cfg.val.num_frame_testing, cfg.val.num_frame_overlapping,
                cfg.val.size_patch_testing, cfg.val.tile_overlap, window,
            )[0]
            frames = (np.clip(out, 0, 1).transpose(0, 2, 3, 1) * 255.0).round().astype(np.uint8)
            rgb = float(np.mean([psnr(f, g) for f, g in zip(frames, clip.gt)]))
            y = float(np.mean([_psnr_y(f, g) for f, g in zip(frames, clip.gt)]))
            results[f"psnr/{clip.name}"] = rgb
            all_rgb.append(rgb)
            all_y.append(y)
    finally:
        model.set_train(was_training)
    results["psnr"] = float(np.mean(all_rgb)) if all_rgb else float("nan")
    results["psnr_y"] = float(np.mean(all_y)) if all_y else float("nan")
    return results
