"""vrt-eval: PSNR/SSIM of a model on REDS4-style folders, as the reference main_test_vrt.py reports them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .cli_common import add_cache_options, apply_cache_options, run_guarded


def _clip_frames(folder: Path) -> np.ndarray:
    import cv2

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise ValueError(f"{folder}: no PNG frames")
    frames = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{f}: not a readable PNG")
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return np.stack(frames)


def evaluate_folders(
    lq_dir: Path, gt_dir: Path, runner, chunk: int, chunk_overlap: int, tile: int, printer=print
) -> dict:
    """PSNR/SSIM (RGB and Y) per clip and on average, as the reference main_test_vrt.py reports them."""
    from . import metrics, tiling
    from .runner import to_float, to_integer

    clips = sorted(p for p in lq_dir.iterdir() if p.is_dir())
    if not clips:
        raise ValueError(f"{lq_dir}: no clip folders")
    results = {}
    for clip in clips:
        gt_clip = gt_dir / clip.name
        if not gt_clip.is_dir():
            raise ValueError(f"{gt_clip}: ground-truth clip missing")
        lq = _clip_frames(clip)
        gt = _clip_frames(gt_clip)
        if len(gt) != len(lq):
            raise ValueError(f"{gt_clip}: {len(gt)} frames, LQ has {len(lq)}")
        plan = tiling.ChunkPlan(len(lq), min(chunk, len(lq)) if chunk else 0, chunk_overlap if chunk else 0)
        blender = tiling.TemporalBlender(plan)
        scores = []
        for k, (s, e) in enumerate(plan):
            out = runner.upscale(np.stack([to_float(f) for f in lq[s:e]]), tile, plan)
            for index, frame in blender.add(k, out.transpose(0, 3, 1, 2)[None]):
                scores.append(metrics.frame_metrics(to_integer(frame[0].transpose(1, 2, 0)), gt[index]))
        mean = {key: float(np.mean([s[key] for s in scores])) for key in scores[0]}
        results[clip.name] = mean
        printer(
            f"{clip.name:>12s}  PSNR {mean['psnr']:.2f} dB  SSIM {mean['ssim']:.4f}  "
            f"PSNR_Y {mean['psnr_y']:.2f} dB  SSIM_Y {mean['ssim_y']:.4f}"
        )
    avg = {key: float(np.mean([r[key] for r in results.values()])) for key in next(iter(results.values()))}
    printer(
        f"{'average':>12s}  PSNR {avg['psnr']:.2f} dB  SSIM {avg['ssim']:.4f}  "
        f"PSNR_Y {avg['psnr_y']:.2f} dB  SSIM_Y {avg['ssim_y']:.4f}"
    )
    results["average"] = avg
    return results


def _run_eval(args: argparse.Namespace) -> int:
    from .runner import Runner, RunnerSettings

    lq, gt = Path(args.lq_dir), Path(args.gt_dir)
    for folder in (lq, gt):
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder")
    apply_cache_options(args)
    settings = RunnerSettings(
        tile=args.tile, tile_overlap=args.tile_overlap, chunk=args.chunk, chunk_overlap=args.chunk_overlap
    )
    runner = Runner(args.model, args.device, settings)
    evaluate_folders(lq, gt, runner, args.chunk, args.chunk_overlap, args.tile)
    return 0


def eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vrt-eval", description="PSNR/SSIM of a model on REDS4-style folders (LQ_DIR/clip/*.png)."
    )
    p.add_argument("lq_dir")
    p.add_argument("gt_dir")
    p.add_argument("--model", default="tiny")
    p.add_argument("--device", default="auto")
    # the reference's default test settings: 40-frame chunks overlapping by 2, 128-pixel tiles overlapping by 20
    p.add_argument("--chunk", type=int, default=40)
    p.add_argument("--chunk-overlap", type=int, default=2)
    p.add_argument("--tile", type=int, default=128)
    p.add_argument("--tile-overlap", type=int, default=20)
    add_cache_options(p)
    p.add_argument("--debug", action="store_true")
    return p


def eval_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of vrt-eval."""
    args = eval_parser().parse_args(argv)
    return run_guarded("vrt-eval", _run_eval, args)
