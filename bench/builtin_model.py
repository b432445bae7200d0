"""Is the built-in model worth shipping? Quality on held-out clips against bicubic, and its speed.

    .venv/bin/python bench/builtin_model.py                         # the built-in tiny model
    .venv/bin/python bench/builtin_model.py --model experiments/tiny_cpu/checkpoints/iter_00001000.ckpt
    .venv/bin/python bench/builtin_model.py --skip-speed --frames 6
    .venv/bin/python bench/builtin_model.py --skip-quality --plan 3 80  # speed with given chunk and tile

Quality: the held-out clips of the training set's generator (photographs never trained on, same seed,
same synthetic camera, MATLAB bicubic x1/4), upscaled whole with the reference's test-time chunking,
PSNR/SSIM on RGB and Y as the reference computes them, averaged over frames then clips. Baselines:
OpenCV bicubic (what the app shows as "input") and MATLAB bicubic (the papers' baseline).
Speed: model seconds per 640x360 frame of a long video on this machine's CPU through the runner
(chunk and tile chosen automatically, or --plan), after the first (compiling) call; end-to-end
figures are bench/pipeline.py's job.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

HOLDOUT = ("coffee", "chelsea")
SIZE = (384, 384)


def held_out_clips(folder: Path, frames: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(photo name, LQ frames, GT frames) for each held-out photograph, as make-synthetic renders them."""
    from trainer.data.synthetic import SyntheticSpec, make_synthetic

    spec = SyntheticSpec(clips=1, frames=frames, width=SIZE[0], height=SIZE[1], holdout=HOLDOUT, seed=0)
    manifest = make_synthetic(folder, spec)
    clips = []
    for clip, photo in sorted(manifest["val"].items()):
        gt_dir, lq_dir = folder / "val_sharp" / clip, folder / "val_sharp_bicubic" / "X4" / clip
        gt = np.stack([_read_rgb(p) for p in sorted(gt_dir.glob("*.png"))])
        lq = np.stack([_read_rgb(p) for p in sorted(lq_dir.glob("*.png"))])
        clips.append((photo, lq, gt))
    return clips


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1].copy()


def clip_scores(frames_out: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    from vrt_engine.metrics import frame_metrics

    per_frame = [frame_metrics(o, g) for o, g in zip(frames_out, gt)]
    return {k: float(np.mean([m[k] for m in per_frame])) for k in per_frame[0]}


def quality(model: str, frames: int) -> None:
    """PSNR/SSIM of the model and both bicubics on the held-out clips, and the gains."""
    from trainer.data.matlab_resize import imresize
    from vrt_engine.runner import Runner, RunnerSettings, bicubic_upscale, to_float, to_integer

    runner = Runner(model, "cpu", RunnerSettings(chunk=40, chunk_overlap=2, tile=128, tile_overlap=20))
    rows: dict[str, list[dict[str, float]]] = {"bicubic (OpenCV)": [], "bicubic (MATLAB)": [], "model": []}
    with tempfile.TemporaryDirectory(prefix="vrt-heldout-") as tmp:
        for photo, lq, gt in held_out_clips(Path(tmp), frames):
            rows["bicubic (OpenCV)"].append(clip_scores(np.stack([bicubic_upscale(f) for f in lq]), gt))
            rows["bicubic (MATLAB)"].append(clip_scores(np.stack([imresize(f, 4) for f in lq]), gt))
            out = runner.upscale(np.stack([to_float(f) for f in lq]), tile=128)
            rows["model"].append(clip_scores(to_integer(out), gt))
            print(
                f"clip {photo}: model PSNR {rows['model'][-1]['psnr']:.2f} dB, "
                f"bicubic (MATLAB) {rows['bicubic (MATLAB)'][-1]['psnr']:.2f} dB",
                flush=True,
            )
    print(f"\nheld-out clips {', '.join(HOLDOUT)}: {frames} frames each, LQ {SIZE[0] // 4}x{SIZE[1] // 4} -> x4")
    print(f"{'method':18} {'PSNR':>7} {'SSIM':>7} {'PSNR-Y':>7} {'SSIM-Y':>7}")
    means = {}
    for name, scores in rows.items():
        means[name] = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
        m = means[name]
        print(f"{name:18} {m['psnr']:7.2f} {m['ssim']:7.4f} {m['psnr_y']:7.2f} {m['ssim_y']:7.4f}")
    for base in ("bicubic (OpenCV)", "bicubic (MATLAB)"):
        print(
            f"gain over {base}: {means['model']['psnr'] - means[base]['psnr']:+.2f} dB RGB, "
            f"{means['model']['psnr_y'] - means[base]['psnr_y']:+.2f} dB Y"
        )


def speed(model: str, plan: tuple[int, int] | None) -> None:
    """Seconds per 640x360 frame on a long video: one chunk timed after the compiling call.

    A long video advances ``chunk - overlap`` frames per chunk, so that is what one chunk's time is
    divided by (dividing by ``chunk`` would hide the frames that overlapping chunks compute twice).
    """
    from vrt_engine.runner import Runner
    from vrt_engine.tiling import plan_work

    runner = Runner(model, "cpu")
    overlap = runner.settings.chunk_overlap
    chunk, tile = plan or runner.plan_sizes(360, 640, 600)
    work = plan_work(360, 640, 600, chunk, tile, runner.window, overlap, runner.tile_overlap_for(tile))
    clip = np.random.default_rng(0).random((chunk, 360, 640, 3), dtype=np.float32)
    runner.upscale(clip, tile)  # compile
    start = time.perf_counter()
    runner.upscale(clip, tile)
    seconds = time.perf_counter() - start
    per_frame = seconds / (chunk - overlap)
    print(
        f"\nspeed: 640x360 on CPU, chunk {chunk} (overlap {overlap}), tile {tile or 'whole frame'}, "
        f"{work:.2f} model pixels per output pixel: one chunk {seconds:.1f} s; on a long video "
        f"{per_frame:.1f} s/frame ({1 / per_frame:.3f} frames/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="built-in name or a .ckpt/.pth file")
    parser.add_argument("--frames", type=int, default=10, help="frames per held-out clip")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument(
        "--plan", type=int, nargs=2, metavar=("CHUNK", "TILE"), help="speed with these sizes (default: automatic)"
    )
    args = parser.parse_args()
    if not args.skip_quality:
        quality(args.model, args.frames)
    if not args.skip_speed:
        speed(args.model, tuple(args.plan) if args.plan else None)


if __name__ == "__main__":
    main()
