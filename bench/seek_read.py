"""Seconds to the first frame of a read that starts late: keyframe seek against decoding from frame 0.

    .venv/bin/python bench/seek_read.py [--seconds 120] [--size 640x360]

Builds an x264 clip (2-second GOP) in a temporary folder, then times read_frames(start=...) to its
first frame at a few starts, with seeking and with it switched off (the frame-counting select
filter of before), side by side in one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import tempfile
import time
from pathlib import Path

from vrt_engine import video
from vrt_engine.video import reading


def first_frame_seconds(path: Path, info: video.VideoInfo, start: int) -> float:
    began = time.perf_counter()
    frames = video.read_frames(path, info, start=start)
    try:
        next(frames)
    finally:
        frames.close()
    return time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--size", default="640x360")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "long.mp4"
        subprocess.run([video.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size={args.size}:rate=25:duration={args.seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", str(clip)],
                       check=True)
        info = video.probe(clip)
        no_pts = dataclasses.replace(info, frame_pts=None)  # what a read did before
        print(f"{args.seconds} s x264 {args.size} clip, {info.frame_count} frames")
        print(f"{'start frame':>12} {'seek s':>8} {'decode-all s':>13}")
        for start in (info.frame_count // 4, info.frame_count // 2, info.frame_count - 10):
            assert reading._seek_point(info, start) is not None
            print(f"{start:>12} {first_frame_seconds(clip, info, start):>8.2f} "
                  f"{first_frame_seconds(clip, no_pts, start):>13.2f}")


if __name__ == "__main__":
    main()
