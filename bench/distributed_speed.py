"""Seconds per frame of one job in one process against msrun's ranks sharing it (``--distributed``).

    .venv/bin/python bench/distributed_speed.py                      # tiny eager, 48 frames of 96x72, 1 and 2 ranks
    .venv/bin/python bench/distributed_speed.py --ranks 1 2 3 --frames 96 --size 160x90 --graph

Each run is a new command, as a user starts it: 1 rank is plain ``vrt-upscale --workers 1`` (one model
process), N ranks is ``msrun --worker_num=N ... vrt-upscale --distributed`` (one core each on a CPU).
Printed per run: the job's own seconds per frame (rank 0's "N frames in S s": from the first chunk to the
written output) and the whole command's (with start-up, msrun's group and model loading). The outputs are
compared: every run must write the same bytes. On a CPU with fewer cores than ranks plus other load,
N ranks are not expected to be faster; the figure that matters is on one device per rank.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def make_clip(path: Path, width: int, height: int, frames: int) -> Path:
    from vrt_engine.video import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-frames:v", str(frames), "-shortest",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac", "-y", str(path)]
    subprocess.run(cmd, check=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(ranks: int, clip: Path, out: Path, job_args: list[str], env: dict) -> tuple[float, float, str]:
    """(job seconds, whole-command seconds, rank 0's output) of one run."""
    upscale = [str(clip), "-o", str(out), *job_args]
    if ranks == 1:
        cmd = [sys.executable, "-m", "vrt_engine.cli", "upscale", *upscale, "--workers", "1"]
    else:
        logs = out.with_suffix(".logs")
        cmd = [str(BIN / "msrun"), f"--worker_num={ranks}", f"--local_worker_num={ranks}",
               f"--master_port={free_port()}", f"--log_dir={logs}", "--join=True", str(BIN / "vrt-upscale"),
               *upscale, "--distributed"]
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out.parent)
    whole = time.perf_counter() - start
    text = result.stdout if ranks == 1 else (out.with_suffix(".logs") / "worker_0.log").read_text()
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}\n{text[-2000:]}")
    m = re.search(r"\((\d+) frames in ([\d.]+) s\)", text)
    if m is None:
        raise SystemExit(f"no 'frames in' line from {' '.join(cmd)}:\n{text[-2000:]}")
    return float(m.group(2)), whole, text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--model", default="tiny")
    p.add_argument("--size", default="96x72")
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--chunk", type=int, default=8)
    p.add_argument("--segment-frames", type=int, default=6)
    p.add_argument("--graph", action="store_true", help="compiled graphs (default: eager, which compiles nothing)")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    env = dict(os.environ, GLOG_v="3", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    job_args = ["--model", args.model, "--chunk", str(args.chunk), "--tile", "0", "--segment-frames",
                str(args.segment_frames), "--preset", "veryfast", *([] if args.graph else ["--eager"])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = make_clip(folder / "clip.mp4", width, height, args.frames)
        print(f"{args.model} {'graph' if args.graph else 'eager'}, {args.frames} frames of {args.size}, chunk "
              f"{args.chunk}, segments of {args.segment_frames}+ frames, {os.cpu_count()} cores")
        print(f"{'ranks':>5} {'job s/frame':>12} {'command s/frame':>16} {'job s':>7} {'command s':>10}")
        outputs = []
        for ranks in args.ranks:
            out = folder / f"out_{ranks}.mp4"
            job, whole, _ = run(ranks, clip, out, job_args, env)
            outputs.append(out.read_bytes())
            print(f"{ranks:>5} {job / args.frames:>12.3f} {whole / args.frames:>16.3f} {job:>7.1f} {whole:>10.1f}",
                  flush=True)
        print("outputs identical" if all(o == outputs[0] for o in outputs) else "OUTPUTS DIFFER")


if __name__ == "__main__":
    main()
