"""A read that starts late seeks to a keyframe instead of decoding from the first frame, and yields
exactly the frames a read from the first frame would (B-frames, edit lists, VFR, Matroska rounding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.clips import ffmpeg
from vrt_engine.video import probe, read_frames, reading

SOURCE = "testsrc2=size=64x48:rate=25:duration=6"
CASES = {
    # x264 with B-frames and a short GOP; mp4 gets an edit list for the B-frame delay
    "x264.mp4": ["-c:v", "libx264", "-g", "12", "-bf", "3", "-pix_fmt", "yuv420p"],
    "x264.mkv": ["-c:v", "libx264", "-g", "12", "-bf", "3", "-pix_fmt", "yuv420p"],
    "vp9.webm": ["-c:v", "libvpx-vp9", "-g", "12", "-deadline", "realtime", "-pix_fmt", "yuv420p"],
    # variable frame rate: 25 fps, then 10 fps after frame 60
    "vfr.mp4": ["-vf", "setpts='if(lt(N,60),N/25,60/25+(N-60)/10)/TB'", "-fps_mode", "passthrough",
                "-video_track_timescale", "90000", "-c:v", "libx264", "-g", "12", "-pix_fmt", "yuv420p"],
    # mpeg-ts seeks loosely: decoded from its first frame, still exact
    "x264.ts": ["-c:v", "libx264", "-g", "12", "-bf", "3", "-pix_fmt", "yuv420p"],
}
STARTS = (1, 11, 12, 13, 37, 60, 61, 99, 149)


@pytest.fixture(scope="module")
def seek_clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("seek")
    made = {}
    for name, args in CASES.items():
        out = folder / name
        audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=6"] if name.endswith(".mp4") else []
        r = ffmpeg("-f", "lavfi", "-i", SOURCE, *audio, *args, *(["-c:a", "aac"] if audio else []), str(out))
        assert r.returncode == 0, r.stderr
        made[name] = out
    return made


@pytest.mark.parametrize("name", list(CASES))
def test_a_late_start_yields_exactly_the_frames_of_a_read_from_the_first(seek_clips, name):
    info = probe(seek_clips[name])
    every = list(read_frames(seek_clips[name], info))
    assert len(every) == info.frame_count
    for start in STARTS:
        if start >= info.frame_count:
            continue
        rest = list(read_frames(seek_clips[name], info, start=start))
        assert len(rest) == info.frame_count - start, (name, start)
        same = [np.array_equal(a, b) for a, b in zip(every[start:], rest, strict=True)]
        assert all(same), f"{name}: start {start}: frame {start + same.index(False)} differs"


@pytest.mark.parametrize("name,seeks", [("x264.mp4", True), ("x264.mkv", True), ("vp9.webm", True),
                                        ("vfr.mp4", True), ("x264.ts", False)])
def test_seeking_is_used_where_the_container_allows_it(seek_clips, name, seeks):
    info = probe(seek_clips[name])
    assert (reading._seek_point(info, 99) is not None) == seeks
    assert reading._seek_point(info, 10) is None  # within the margin of the first frame: decode from there
