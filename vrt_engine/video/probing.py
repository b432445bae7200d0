"""probe(): describe a video file or PNG folder, with exact frame counts from packet scans.

Frames are counted by stream-copying the video packets into ffmpeg's ``framecrc`` muxer (no
decoding: fast even on long files; ``exact=True`` counts by decoding instead), and the frame rate is
snapped to the usual rates from those packet timestamps.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .banner import _Banner, _banner, _bit_depth, _has_alpha, _hms, _is_gray, _parse_video, _RawStream, _rotation
from .ffmpeg import VideoError, _arg, _base_cmd, _clean, _last_error
from .info import StreamInfo, VideoInfo

_DAMAGE_WORDS = ("partial file", "truncat", "invalid data", "corrupt", "end of file", "error reading",
                 "i/o error")


# --------------------------------------------------------------------------------------------- packets


@dataclass
class _Scan:
    tb: Fraction
    pts: np.ndarray          # sorted presentation timestamps of the kept (non-discarded) packets
    count: int               # kept packets (more than len(pts) when some carry no timestamp)
    last_duration: int
    end_duration: int        # duration of the packet shown last (the largest pts)
    corrupt: int
    errors: list[str]


_NOPTS = -(2**63)


def _scan_packets(path: Path, index: int) -> _Scan:
    """Stream-copy one stream into ``framecrc``: exact packet count and timestamps, no decoding."""
    cmd = [*_base_cmd(), "-copyts", "-i", _arg(path), "-map", f"0:{index}", "-c", "copy",
           "-f", "framecrc", "pipe:1"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    tb = Fraction(1, 1000)
    pts: list[int] = []
    last_dur, corrupt, top, top_dur = 0, 0, _NOPTS, 0
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("#"):
            if line.startswith("#tb 0:"):
                tb = Fraction(line.split(":", 1)[1].strip())
            continue
        cols = line.split(",")
        if len(cols) < 6:
            continue
        flags = int(cols[6].strip()[2:], 16) if len(cols) > 6 and cols[6].strip().startswith("F=") else 0
        if flags & 4:  # AV_PKT_FLAG_DISCARD: edit-list pre-roll, never shown
            continue
        if flags & 2:
            corrupt += 1
        dts, ts = int(cols[1]), int(cols[2])
        pts.append(dts if ts == _NOPTS else ts)  # streams without pts (raw h264 in AVI...) use dts
        last_dur = int(cols[3])
        if pts[-1] != _NOPTS and pts[-1] >= top:
            top, top_dur = pts[-1], last_dur
    errors = [x for x in proc.stderr.decode("utf-8", "replace").splitlines() if x.strip()]
    if proc.returncode != 0 and not errors:
        errors = [f"ffmpeg exited with status {proc.returncode}"]
    arr = np.sort(np.asarray([t for t in pts if t != _NOPTS], dtype=np.int64))
    return _Scan(tb, arr, len(pts), last_dur, top_dur, corrupt, errors)


def _decode_count(path: Path, index: int) -> int:
    cmd = [*_base_cmd(), "-noautorotate", "-i", _arg(path), "-map", f"0:{index}",
           "-fps_mode", "passthrough", "-f", "null", "-progress", "pipe:1", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    frames = re.findall(rb"^frame=(\d+)", proc.stdout, re.M)
    if proc.returncode != 0 or not frames:
        raise VideoError(path, f"cannot decode: {_last_error(proc.stderr.decode('utf-8', 'replace').splitlines())}")
    return int(frames[-1])


def _rate_candidates(x: float) -> set[Fraction]:
    return {Fraction(round(x)), Fraction(round(x * 1.001) * 1000, 1001), Fraction(round(x * 2), 2)}


def _snap_rate(estimate: float, tolerance: float, hint: float | None) -> Fraction | None:
    """The simplest usual frame rate (integer, NTSC n*1000/1001, halves) within ``tolerance``.

    ``hint`` is ffmpeg's own figure, rounded to 0.01: where several rates fit (short clips with
    millisecond timestamps), the one it rounds to wins.
    """
    cands = _rate_candidates(estimate) | (_rate_candidates(hint) if hint else set())
    ok = [c for c in cands if c > 0 and abs(float(c) - estimate) <= tolerance]
    if hint is not None and len(ok) > 1:
        near = [c for c in ok if abs(float(c) - hint) <= 0.006]
        ok = near or ok
    return min(ok, key=lambda c: (c.denominator, abs(float(c) - estimate))) if ok else None


def _frame_rate(scan: _Scan, hint: float | None) -> tuple[Fraction, bool]:
    """(frame rate, variable?) from the packet timestamps; ``hint`` is ffmpeg's rounded figure."""
    pts, tb = scan.pts, scan.tb
    n = len(pts)
    if n < 2 or pts[-1] == pts[0]:
        if hint:
            return _snap_rate(hint, 0.006, hint) or Fraction(hint).limit_denominator(1001), False
        return Fraction(25), False
    span_ticks = int(pts[-1] - pts[0])
    exact = Fraction(n - 1) / (span_ticks * tb)
    est = float(exact)
    # rounding at each end of the span: one tick, or 1 ms (Matroska/WebM, maybe before a remux)
    tol = est * 2 * max(float(tb), 0.001) / float(span_ticks * tb) + 1e-6
    regular = bool(np.all(np.diff(pts) == pts[1] - pts[0]))
    fps = _snap_rate(est, tol, hint) or (exact if regular else exact.limit_denominator(1001))
    step = 1 / (float(fps) * float(tb))  # ticks per frame
    ideal = pts[0] + np.arange(n, dtype=np.float64) * step
    deviation = float(np.max(np.abs(pts - ideal))) / step  # in frames
    return fps, deviation > 0.5


def _off_grid(scan: _Scan, fps: Fraction) -> bool:
    """True when the timestamps stray from every grid at ``fps`` by more than their own rounding.

    The grid's offset is fitted (half the spread of pts - N * step); half a tick, or 0.5 ms for
    millisecond timestamps (Matroska, or a remux of it), is rounding, not timing worth keeping.
    """
    pts, tb = scan.pts, float(scan.tb)
    if len(pts) < 2:
        return False
    residual = pts.astype(np.float64) * tb - np.arange(len(pts), dtype=np.float64) / float(fps)
    half_spread = (float(residual.max()) - float(residual.min())) / 2
    return half_spread > max(tb, 0.001) / 2 + 1e-6


def _frame_ticks(scan: _Scan, fps: Fraction) -> np.ndarray:
    """Every frame's pts in order, then where the last frame ends (its duration, else the last gap)."""
    pts = scan.pts
    if scan.end_duration > 0:
        last = scan.end_duration
    elif len(pts) > 1:
        last = int(pts[-1] - pts[-2])
    else:
        last = max(1, round(1 / (float(fps) * float(scan.tb))))
    ticks = np.append(pts, pts[-1] + last).astype(np.int64)
    # strictly increasing (encoders refuse equal pts): a frame sharing its predecessor's tick moves one on
    steps = np.arange(len(ticks), dtype=np.int64)
    return np.maximum.accumulate(ticks - steps) + steps


def _frame_pts(scan: _Scan, count: int) -> np.ndarray | None:
    """Each frame's pts in presentation order, where every packet has one (else None: no seeking)."""
    if count != len(scan.pts) or count != scan.count:
        return None
    pts = scan.pts.copy()
    pts.setflags(write=False)
    return pts


# --------------------------------------------------------------------------------------------- probe


def probe(path: str | os.PathLike[str], *, exact: bool = False, folder_fps: Fraction = Fraction(25)) -> VideoInfo:
    """Describe a video file (or a folder of PNG frames) and check it is whole and readable.

    ``frame_count`` is the number of video packets, which equals the decodable frames for sane
    files; ``exact=True`` decodes the whole stream to count them (slow on long files).
    A folder has no frame rate of its own: ``folder_fps`` is used.
    Raises :class:`VideoError` for a missing file, not a video, no frames, truncated or corrupt data.
    """
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file not found")
    if p.is_dir():
        return _probe_folder(p, Fraction(folder_fps))
    if p.stat().st_size == 0:
        raise VideoError(p, "empty file (0 bytes)")
    banner = _banner(p)
    videos = [s for s in banner.streams if s.kind == "video" and "attached pic" not in s.desc]
    if not videos:
        raise VideoError(p, "not a video file (no video stream)")
    raw = videos[0]
    vd = _parse_video(raw.desc)
    if vd.width <= 0 or vd.height <= 0:
        raise VideoError(p, f"video stream has no usable size ({raw.desc})")
    scan = _scan_packets(p, raw.index)
    damage = [e for e in scan.errors if any(w in e.lower() for w in _DAMAGE_WORDS)]
    if damage or scan.corrupt:
        why = _clean(damage[-1]) if damage else f"{scan.corrupt} corrupt packets"
        raise VideoError(p, f"truncated or damaged file ({why})")
    if scan.count == 0:
        raise VideoError(p, "video stream has no frames")
    if len(scan.pts) < scan.count:  # untimed packets: trust the container's rate, start at 0
        scan = dataclasses.replace(scan, pts=np.zeros(1, np.int64))
    fps, vfr = _frame_rate(scan, vd.tbr or vd.fps)
    count = _decode_count(p, raw.index) if exact else scan.count
    if count == 0:
        raise VideoError(p, "video stream has no frames")
    tb = float(scan.tb)
    ticks = None
    if count == len(scan.pts) and (vfr or _off_grid(scan, fps)):
        ticks = _frame_ticks(scan, fps)  # carried to the output frame by frame (video.timing)
        ticks.setflags(write=False)
    video_start = float(scan.pts[0]) * tb
    video_end = float(scan.pts[-1] + max(scan.last_duration, 0)) * tb
    if ticks is not None:
        duration = float(ticks[-1] - ticks[0]) * tb
    else:
        duration = (video_end - video_start) if vfr else count / float(fps)
    _check_complete(p, banner, raw, video_end, fps)
    streams = tuple(
        StreamInfo(
            s.index, s.kind, s.desc.split(",")[0].split()[0] if s.desc else "unknown",
            s.language if s.language not in (None, "und") else None, s.meta.get("title"),
            "(default)" in s.desc, "attached pic" in s.desc,
        )
        for s in banner.streams
    )
    pix = vd.pix_fmt
    return VideoInfo(
        path=p, width=vd.width, height=vd.height, fps=fps, frame_count=count, duration=duration,
        pix_fmt=pix, bit_depth=_bit_depth(pix), has_alpha=_has_alpha(pix), is_gray=_is_gray(pix),
        rotation=_rotation(raw), sar=vd.sar, color_matrix=vd.matrix, color_range=vd.range,
        color_primaries=vd.primaries, color_transfer=vd.transfer,
        audio_streams=sum(s.kind == "audio" for s in banner.streams),
        subtitle_streams=sum(s.kind == "subtitle" for s in banner.streams),
        has_chapters=banner.chapters > 0, is_vfr=vfr, is_image_folder=False,
        codec=vd.codec, container=banner.container, video_stream=raw.index, start_time=banner.start,
        video_start=video_start, field_order=vd.field_order, streams=streams,
        time_base=scan.tb, timestamps=ticks, frame_pts=_frame_pts(scan, count),
    )


def _check_complete(p: Path, banner: _Banner, raw: _RawStream, video_end: float, fps: Fraction) -> None:
    """Catch files cut short that demux without complaint (Matroska): the header promised more."""
    tol = max(0.5, 5 / float(fps))
    tag = raw.meta.get("duration")
    m = re.match(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$", tag or "")
    if m and _hms(*m.groups()) - video_end > tol:
        raise VideoError(p, f"truncated or damaged file (video ends at {video_end:.2f} s, "
                            f"header says {_hms(*m.groups()):.2f} s)")
    if m or banner.duration is None or banner.duration - (video_end - banner.start) <= tol:
        return
    ends = [video_end]
    for s in banner.streams:
        if s.kind in ("audio", "subtitle", "data"):
            sc = _scan_packets(p, s.index)
            if len(sc.pts):
                ends.append(float(sc.pts[-1] + sc.last_duration) * float(sc.tb))
    if banner.duration - (max(ends) - banner.start) > tol:
        raise VideoError(p, f"truncated or damaged file (streams end at {max(ends):.2f} s, "
                            f"header says {banner.duration:.2f} s)")


# --------------------------------------------------------------------------------------------- folders


def _png_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.suffix == ".png" and f.is_file())


def _sequence(files: list[Path]) -> tuple[int, int] | None:
    """(first number, digits) when the names are 00000000.png, 00000001.png, ... without gaps."""
    names = [f.stem for f in files]
    if not names or not all(n.isdigit() and len(n) == len(names[0]) for n in names):
        return None
    first = int(names[0])
    if any(int(n) != first + i for i, n in enumerate(names)):
        return None
    return first, len(names[0])


def _probe_folder(folder: Path, fps: Fraction) -> VideoInfo:
    files = _png_files(folder)
    if not files:
        raise VideoError(folder, "no PNG frames in folder (expected 00000000.png, 00000001.png, ...)")
    banner = _banner(files[0])
    videos = [s for s in banner.streams if s.kind == "video"]
    if not videos:
        raise VideoError(files[0], "not a PNG image")
    vd = _parse_video(videos[0].desc)
    pix = vd.pix_fmt
    return VideoInfo(
        path=folder, width=vd.width, height=vd.height, fps=fps, frame_count=len(files),
        duration=len(files) / float(fps), pix_fmt=pix, bit_depth=_bit_depth(pix), has_alpha=_has_alpha(pix),
        is_gray=_is_gray(pix), rotation=0, sar=vd.sar, color_matrix=None, color_range=None,
        color_primaries=vd.primaries, color_transfer=vd.transfer, audio_streams=0, subtitle_streams=0,
        has_chapters=False, is_vfr=False, is_image_folder=True, codec="png", container="image2",
    )
