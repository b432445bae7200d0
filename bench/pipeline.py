"""Where an upscale job's time and memory go: the network against everything else, short against long clips.

    .venv/bin/python bench/pipeline.py                                   # tiny, 640x360, 60 and 600 frames
    .venv/bin/python bench/pipeline.py --model tiny --size 640x360 --frames 12 --tile 0
    .venv/bin/python bench/pipeline.py --model bicubic --size 320x180 --frames 60 600

For each clip length, a generated clip (testsrc2 video with sound) is upscaled by a real job
(decode -> chunks -> tiles -> model -> blend -> encode -> mux) in a fresh process. "model s" is the time
inside the network's forward calls; the rest of the end-to-end time is overhead (decode, tiling,
blending, encode, mux). Peak memory is the job process' maximum resident set. A named model whose
weights are not installed runs with random weights of its architecture: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path


def _model_path(name: str, folder: Path) -> str:
    """The installed model, or a random-weight checkpoint of a preset written into `folder`."""
    from vrt_engine.models_dir import resolve_model
    from vrt_engine.weights import WeightsError

    if name == "bicubic":
        return name
    try:
        resolve_model(name)
        return name
    except WeightsError:
        from vrt_engine.model import build_model, config_from, config_to_dict
        from vrt_engine.weights import save_checkpoint

        cfg = config_from(name)
        path = folder / f"{name}_random.ckpt"
        save_checkpoint(build_model(cfg), path, config_to_dict(cfg))
        print(f"note: no installed weights for '{name}': random weights (speed only)", file=sys.stderr)
        return str(path)


def measure_one(model: str, width: int, height: int, frames: int, tile: int | None, chunk: int | None) -> dict:
    """Make a clip, run one job on it, report seconds (end to end, in the model) and peak memory."""
    from vrt_engine import video
    from vrt_engine.job import Finished, Job, JobRunner, JobSettings

    with tempfile.TemporaryDirectory(prefix="vrt-bench-") as tmp:
        folder = Path(tmp)
        clip = video.make_test_clip(folder / "clip.mp4", width, height, frames, Fraction(25), audio=True)
        settings = JobSettings(model=_model_path(model, folder), tile=tile, chunk=chunk, codec="h264", crf=18)
        runner = JobRunner()
        job_runner = runner.runner_for(settings)
        start = time.perf_counter()
        event = runner.run(Job(clip, folder / "out.mp4", settings))
        seconds = time.perf_counter() - start
        if not isinstance(event, Finished):
            raise SystemExit(f"pipeline: job did not finish: {event}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "model_seconds": job_runner.model_seconds, "peak_mb": peak_mb}


def run_isolated(args: argparse.Namespace, frames: int) -> dict:
    cmd = [sys.executable, __file__, "--one", "--model", args.model, "--size", args.size, "--frames", str(frames)]
    if args.tile is not None:
        cmd += ["--tile", str(args.tile)]
    if args.chunk is not None:
        cmd += ["--chunk", str(args.chunk)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"pipeline: {frames} frames failed: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the generated input")
    parser.add_argument("--frames", nargs="+", type=int, default=[60, 600])
    parser.add_argument("--tile", type=int, default=None, help="tile size (0 = whole frame; default automatic)")
    parser.add_argument("--chunk", type=int, default=None, help="frames per chunk (default automatic)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.one:
        print(json.dumps(measure_one(args.model, width, height, args.frames[0], args.tile, args.chunk)))
        return
    print(f"model {args.model}, input {width}x{height} at 25 fps with audio, h264 out; each run in a fresh process")
    print(f"{'frames':>6} {'end-to-end s':>12} {'model s':>8} {'overhead':>8} {'fps':>6} {'peak MB':>8}")
    peaks = []
    for frames in args.frames:
        r = run_isolated(args, frames)
        overhead = 1.0 - r["model_seconds"] / r["seconds"]
        print(
            f"{frames:6d} {r['seconds']:12.1f} {r['model_seconds']:8.1f} {overhead:8.1%} "
            f"{frames / r['seconds']:6.2f} {r['peak_mb']:8.0f}",
            flush=True,
        )
        peaks.append((frames, r["peak_mb"]))
    if len(peaks) > 1:
        (f0, m0), (f1, m1) = peaks[0], peaks[-1]
        print(f"peak memory at {f1} frames / at {f0} frames: {m1 / m0:.2f}x")


if __name__ == "__main__":
    main()
