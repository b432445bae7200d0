"""A job after kill -9 at 60 %, resumed with the graph cache, against one uninterrupted run; and the estimate.

    .venv/bin/python bench/resume_estimate.py                       # tiny, 120 frames of 160x90
    .venv/bin/python bench/resume_estimate.py --size 160x90 --frames 120 --segment-frames 24

1. ``vrt-upscale`` on a fresh cache folder, uninterrupted (it compiles): the whole time T.
2. The same job again to a new output, killed with SIGKILL once 60 % of the frames are written, then
   run again: the resumed run's time R, which finds the graph in the cache. The issue's target: R <= 0.6 T.
3. ``vrt-upscale --estimate`` on another clip (other content and size, never calibrated), then the job on
   it: estimate against the real time (target: within 30 %).
Every run is a new process, as a user starts it; times are wall clock of the whole command.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_clip(path: Path, width: int, height: int, frames: int, source: str) -> Path:
    from vrt_engine.video import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"{source}=size={width}x{height}:rate=25",
           "-frames:v", str(frames), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-y", str(path)]
    subprocess.run(cmd, check=True)
    return path


def upscale_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "vrt_engine.cli", "upscale", *args]


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return time.perf_counter() - start, result.stdout


def killed_at(cmd: list[str], env: dict, frames: int, fraction: float) -> float:
    """Run until the progress says ``fraction`` of the frames are written, then SIGKILL; seconds until then."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"(\d+)/(\d+) frames", line)
        if match and int(match.group(1)) >= fraction * frames:
            os.killpg(proc.pid, signal.SIGKILL)  # the job and its model workers, as kill -9 of the session
            break
    proc.wait()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--size", default="160x90")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--segment-frames", type=int, default=24)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        d = Path(folder)
        env = dict(os.environ, VRT_CACHE_DIR=str(d / "cache"), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        clip = make_clip(d / "clip.mp4", width, height, args.frames, "testsrc2")
        common = ["--model", args.model, "--segment-frames", str(args.segment_frames)]
        whole, _ = timed(upscale_cmd(str(clip), str(d / "whole.mp4"), *common), env)
        print(f"uninterrupted, cold cache: {whole:.1f} s")
        target = str(d / "resumed.mp4")
        before = killed_at(upscale_cmd(str(clip), target, *common), env, args.frames, 0.6)
        resumed, _ = timed(upscale_cmd(str(clip), target, *common), env)
        same = (d / "whole.mp4").read_bytes() == Path(target).read_bytes()
        print(f"killed at 60 % after {before:.1f} s; resumed run {resumed:.1f} s = {100 * resumed / whole:.0f} % "
              f"of the uninterrupted run (target <= 60 %); output identical to the uninterrupted one: {same}")

        other = make_clip(d / "other.mp4", width + 32, height + 18, args.frames // 2, "mandelbrot")
        est_s, out = timed(upscale_cmd(str(other), "--estimate", *common), env)
        match = re.search(r"\((\d+) s;", out)
        estimate = float(match.group(1)) if match else float("nan")
        whole_cmd, out = timed(upscale_cmd(str(other), str(d / "other_x4.mp4"), *common), env)
        real = float(re.search(r"frames in ([\d.]+) s", out).group(1))  # the job itself, after loading the model
        print(f"estimate for {width + 32}x{height + 18}, {args.frames // 2} frames: {estimate:.0f} s "
              f"(calibration took {est_s:.1f} s); real {real:.1f} s (whole command {whole_cmd:.1f} s): "
              f"{100 * (estimate - real) / real:+.0f} %")


if __name__ == "__main__":
    main()
