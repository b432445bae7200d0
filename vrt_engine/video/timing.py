"""Frame timing carried from input to output: variable frame rate and jittering timestamps.

A probe sets ``VideoInfo.timestamps`` when the frames are off every constant-rate grid (phones,
screen recordings, game captures, web downloads): then output frame N is given input frame N's
presentation time, exactly (in the input's own time base), instead of N / fps. Constant-rate input
has no timestamps here and keeps its exact rate. How the times travel:

* each segment encoder gets a ``setpts`` expression of its frame number (piecewise-linear runs of
  the segment's own ticks, relative to its first frame), with the input's time base;
* segments are NUT files, which keep those ticks exactly (Matroska would round to 1 ms);
* :func:`mux` places segment k at its first frame's time, via the concat demuxer's ``duration``
  directives, rounded so that their sums never drift (see :func:`concat_durations`);
* PNG output gets a ``timestamps.txt`` (mkvmerge's timestamp format v2) in the folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .info import VideoInfo

TIMECODE_FILE = "timestamps.txt"


def is_timed(info: VideoInfo) -> bool:
    """True when the output must carry the input's own frame timestamps."""
    return info.timestamps is not None


def frame_times(info: VideoInfo) -> np.ndarray:
    """Each frame's presentation time in seconds, as the input stores it (and the output keeps it)."""
    if info.timestamps is not None:
        return np.asarray(info.timestamps[:-1], dtype=np.float64) * float(info.time_base)
    offset = 0.0 if info.is_image_folder else info.video_start
    return offset + np.arange(info.frame_count, dtype=np.float64) / float(info.fps)


def segment_ticks(info: VideoInfo, first: int, end: int) -> np.ndarray:
    """Ticks of frames ``first .. end-1`` relative to frame ``first`` (the segment's own clock)."""
    if info.timestamps is None:
        raise ValueError(f"{info.path}: has no timestamps to carry")
    ticks = np.asarray(info.timestamps[first:end], dtype=np.int64)
    return ticks - ticks[0]


def _runs(ticks: Sequence[int]) -> list[tuple[int, int, int]]:
    """(first frame, its tick, step) for each run of equally spaced frames."""
    runs: list[tuple[int, int, int]] = []
    i, n = 0, len(ticks)
    while i < n:
        if i + 1 == n:
            runs.append((i, int(ticks[i]), 0))
            break
        step = int(ticks[i + 1] - ticks[i])
        j = i + 1  # the run is frames i..j
        while j + 1 < n and ticks[j + 1] - ticks[j] == step:
            j += 1
        runs.append((i, int(ticks[i]), step))
        i = j + 1
    return runs


def setpts_expression(ticks: Sequence[int]) -> str:
    """A ``setpts`` expression giving frame N the tick ``ticks[N]``: a balanced if-tree over runs.

    Evaluation costs log(runs) per frame, so jittery input (a run every frame or two) stays cheap."""
    runs = _runs(ticks)

    def tree(lo: int, hi: int) -> str:
        if hi - lo == 1:
            first, tick, step = runs[lo]
            return f"{tick}+(N-{first})*{step}" if step else str(tick)
        mid = (lo + hi) // 2
        return f"if(lt(N,{runs[mid][0]}),{tree(lo, mid)},{tree(mid, hi)})"

    return tree(0, len(runs))


def concat_durations(info: VideoInfo, counts: Sequence[int], first: int = 0) -> list[str]:
    """Concat ``duration`` of segments holding ``counts`` frames each, in seconds (9 decimals).

    Each is the difference of the rounded start times of consecutive segments, so the concat
    demuxer's running sum lands on every segment's exact start (within 1 ns), however many there are.
    """
    ts = np.asarray(info.timestamps, dtype=np.int64)
    edges = (first + np.concatenate([[0], np.cumsum(counts)])).clip(0, len(ts) - 1)
    tb = Fraction(info.time_base)
    ns = [round((int(ts[e]) - int(ts[first])) * tb * 10**9) for e in edges]
    return [f"{(b - a) / 10**9:.9f}" for a, b in zip(ns, ns[1:], strict=False)]


def timecodes_v2(info: VideoInfo, first: int = 0, stop: int | None = None) -> str:
    """mkvmerge's timestamp format v2: a header, then each frame's time in milliseconds.

    For a part ``[first, stop)`` of the video, times count from frame ``first`` (the output's first)."""
    times = frame_times(info)
    ms = (times[first:stop] - (times[first] if first else 0.0)) * 1000.0
    return "# timestamp format v2\n" + "".join(f"{t:.6f}\n" for t in ms)


def digest(info: VideoInfo) -> str | None:
    """A short hash of the timing, for the resume fingerprint (None: constant rate)."""
    if info.timestamps is None:
        return None
    h = hashlib.sha1(str(info.time_base).encode())
    h.update(np.ascontiguousarray(info.timestamps, dtype="<i8").tobytes())
    return h.hexdigest()[:16]


def describe(info: VideoInfo) -> str:
    """Words for a log line: how the input's timing is carried."""
    if info.timestamps is None:
        return f"constant frame rate ({float(info.fps):.3f} fps)"
    gaps = np.diff(np.asarray(info.timestamps[:-1], dtype=np.int64)) * float(info.time_base)
    gaps = gaps[gaps > 0]
    if not info.is_vfr:
        grid = np.arange(info.frame_count) / float(info.fps)
        off = np.asarray(info.timestamps[:-1], dtype=np.float64) * float(info.time_base) - grid
        return (f"{float(info.fps):.3f} fps with timestamps off by up to {(off.max() - off.min()) * 500:.1f} ms; "
                "every frame keeps its own timestamp")
    low, high = (1 / gaps.max(), 1 / gaps.min()) if len(gaps) else (float(info.fps),) * 2
    return f"variable frame rate ({low:.2f} to {high:.2f} fps); every frame keeps its own timestamp"
