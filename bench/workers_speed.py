"""Seconds per frame of a long video with the model in this process against worker processes (CPU).

    .venv/bin/python bench/workers_speed.py                        # tiny, 640x360, 1 and 2 workers
    .venv/bin/python bench/workers_speed.py --size 320x180 --workers 1 2 --plan 8 64
    .venv/bin/python bench/workers_speed.py --arch bench/smallest_vrt.yaml --workers 2   # any architecture

Each worker count runs in a fresh process: the runner picks chunk and tile for it from the memory
budget (or --plan), compiles on two tiles ("first s"), then one chunk of random frames is timed. A long video
advances ``chunk - overlap`` frames per chunk, so that is what the chunk's time is divided by. Peak
memory is the summed resident memory of the process and its workers, sampled every 50 ms.
--arch times any architecture (a YAML mapping of the reference constructor's arguments) with random
weights, which do not change the speed: bench/smallest_vrt.yaml is the narrowest VRT with every part.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import PeakSampler, random_weights_checkpoint  # noqa: E402  (bench/ is on the path only now)


def measure(model: str, workers: int, width: int, height: int, plan: tuple[int, int] | None) -> dict:
    """One worker count: plan, compile, then time one chunk."""
    from vrt_engine.runner import Runner, RunnerSettings
    from vrt_engine.tiling import plan_work, tiles_per_chunk

    runner = Runner(model, "cpu", RunnerSettings(workers=workers))
    overlap = runner.settings.chunk_overlap
    chunk, tile = plan or runner.plan_sizes(height, width, 600)
    tile_overlap = runner.tile_overlap_for(tile)
    clip = np.random.default_rng(0).random((chunk, height, width, 3), dtype=np.float32)
    # compile first, on two tiles so that two workers each compile their graph (a whole chunk would take long)
    warm = clip[:, : (tile or height), : min(width, 2 * tile - tile_overlap) if tile else width]
    with PeakSampler() as sampler:
        start = time.perf_counter()
        runner.upscale(warm, tile)
        first = time.perf_counter() - start
        start = time.perf_counter()
        runner.upscale(clip, tile)
        seconds = time.perf_counter() - start
    runner.close()
    return {
        "workers": runner.workers,
        "chunk": chunk,
        "tile": tile,
        "tiles": tiles_per_chunk(height, width, tile, tile_overlap),
        "work": plan_work(height, width, 600, chunk, tile, runner.window, overlap, tile_overlap),
        "first_s": first,
        "chunk_s": seconds,
        "per_frame_s": seconds / (chunk - overlap),
        "peak_gb": sampler.peak / 2**30,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="built-in name or a .ckpt/.pth file")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the frames")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--plan", type=int, nargs=2, metavar=("CHUNK", "TILE"), help="sizes (default: automatic)")
    parser.add_argument("--arch", type=Path, help="a YAML architecture to time with random weights (not --model)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    plan = tuple(args.plan) if args.plan else None
    if args.one is not None:
        print(json.dumps(measure(args.model, args.one, width, height, plan)))
        return
    with tempfile.TemporaryDirectory() as folder:
        if args.arch:
            try:
                arch = yaml.safe_load(args.arch.read_text())
                args.model = str(random_weights_checkpoint(arch, Path(folder) / f"{args.arch.stem}.ckpt"))
            except (OSError, yaml.YAMLError, ValueError) as error:
                parser.error(f"--arch {args.arch}: {error}")
        compare(args, width, height, plan)


def compare(args: argparse.Namespace, width: int, height: int, plan: tuple[int, int] | None) -> None:
    """Each worker count in a fresh process, one table row each."""
    print(f"model {args.arch or args.model}, {width}x{height} frames, CPU")
    columns = ("workers", 7), ("chunk", 5), ("tile", 5), ("tiles", 5), ("work", 5), ("first s", 8), ("s/frame", 8)
    print(" ".join(f"{name:>{span}}" for name, span in (*columns, ("peak GB", 8))))
    for workers in args.workers:
        cmd = [sys.executable, __file__, "--one", str(workers), "--model", args.model, "--size", args.size]
        cmd += ["--plan", *map(str, plan)] if plan else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            print(f"{workers:>7} failed: {tail}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['workers']:>7} {r['chunk']:>5} {r['tile'] or 'whole':>5} {r['tiles']:>5} {r['work']:>5.2f} "
            f"{r['first_s']:>8.1f} {r['per_frame_s']:>8.2f} {r['peak_gb']:>8.1f}"
        )


if __name__ == "__main__":
    main()
