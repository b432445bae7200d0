"""read_frames(): decode a video (or PNG folder) into RGB numpy frames through one ffmpeg pipe."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import warnings
from collections.abc import Callable, Generator
from pathlib import Path

import numpy as np

from .ffmpeg import VideoError, _arg, _base_cmd, _exit_reason, _last_error, _StderrTail, _stop
from .info import _SWS_FLAGS, _SWS_MATRIX, VideoInfo
from .probing import _png_files, _sequence, probe

log = logging.getLogger(__name__)

# Containers whose demuxers seek to the keyframe at or before a time (mpeg-ts, avi and raw streams
# seek loosely or not at all: those are decoded from their first frame).
_SEEKABLE = ("mov", "matroska", "nut")  # as the banner names them (mp4 is "mov")
SEEK_MARGIN_S = 1.0  # seek this much before the first wanted frame: a demuxer's index may be coarse

_VFR_HINT = "convert to constant frame rate with `ffmpeg -i INPUT -fps_mode cfr -r RATE OUTPUT` first"


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\{}])", r"\\\1", text)


def _folder_input(info: VideoInfo, start: int) -> tuple[list[str], int]:
    """ffmpeg input arguments for a PNG folder, and how many frames still need dropping."""
    files = _png_files(info.path)
    rate = f"{info.fps.numerator}/{info.fps.denominator}"
    seq = _sequence(files)
    if seq is not None:
        first, digits = seq
        pattern = _arg(info.path).replace("%", "%%") + f"/%0{digits}d.png"
        return ["-framerate", rate, "-f", "image2", "-start_number", str(first + start), "-i", pattern], 0
    pattern = _glob_escape(_arg(info.path)) + "/*.png"
    return ["-framerate", rate, "-f", "image2", "-pattern_type", "glob", "-i", pattern], start


def vfr_error(info: VideoInfo) -> VideoError:
    """The error for variable-frame-rate input whose frames cannot be matched to timestamps."""
    return VideoError(info.path, f"variable frame rate without a timestamp for every frame is not supported; "
                                 f"{_VFR_HINT} (this file averages {float(info.fps):.3f} fps)")


def check_timing(info: VideoInfo) -> None:
    """Raise :func:`vfr_error` when the input is VFR but its timing cannot be carried (see video.timing)."""
    if info.is_vfr and info.timestamps is None:
        raise vfr_error(info)


def read_frames(
    path: str | os.PathLike[str],
    info: VideoInfo | None = None,
    start: int = 0,
    *,
    warn: Callable[[str], None] | None = None,
    pre_filter: str = "",
) -> Generator[np.ndarray, None, None]:
    """Yield the frames of ``path`` as HxWx3 RGB arrays, one ffmpeg process streaming raw video.

    * uint8 for 8-bit input, uint16 on the full 0..65535 scale for deeper input (10-bit is not
      truncated to 8);
    * decoded with the file's own colour matrix and range (see :attr:`VideoInfo.effective_matrix`);
    * no auto-rotation: pixels come in coded orientation, ``info.rotation`` says how to show them;
    * grayscale comes as three identical channels; an alpha channel is dropped, with a warning
      (``warnings.warn`` and a log line, or ``warn(text)`` when given), because the model only sees colour;
    * ``start`` skips that many frames (exactly, by frame index) so a job can resume;
    * works for a folder of PNG frames too; variable frame rate input is read frame by frame in
      presentation order (its timing is ``info.timestamps``), unless it has untimed packets;
    * ``pre_filter`` (ffmpeg filters, e.g. a :class:`FieldPlan`'s deinterlacing) runs on the decoded
      frames before anything else; ``info`` and ``start`` then count the frames it puts out, and the
      decode always starts at the first frame so a resumed read yields the same frames.

    The checks (probe, VFR, ``start``) run at the call; ffmpeg starts at the first ``next()``.
    Closing the iterator early kills and reaps ffmpeg. If fewer or more frames come out than
    ``info.frame_count`` says, :class:`VideoError` is raised after the last frame.
    """
    p = Path(path)
    info = info or probe(p)
    if start < 0:
        raise ValueError("start must be >= 0")
    check_timing(info)
    if start >= info.frame_count:
        return (f for f in ())  # an empty generator: .close() works as on the real one
    if info.has_alpha:
        msg = f"{p}: alpha channel ({info.pix_fmt}) is dropped; the upscaler works on RGB only"
        if warn is not None:
            warn(msg)
        else:
            warnings.warn(msg, stacklevel=2)
            log.warning(msg)
    deep = info.bit_depth > 8
    out_fmt = "rgb48le" if deep else "rgb24"
    if info.is_image_folder:
        input_args, drop = _folder_input(info, 0 if pre_filter else start)
        drop = start if pre_filter else drop
    else:
        input_args, drop = ["-noautorotate", "-i", _arg(p)], start
    filters = [pre_filter] if pre_filter else []
    seek = None if pre_filter or info.is_image_folder else _seek_point(info, start)
    if seek is not None:  # jump to a keyframe before the wanted frame, keep frames from its timestamp on
        at, cut = seek
        input_args = ["-noautorotate", "-copyts", "-seek_timestamp", "1", "-noaccurate_seek",
                      "-ss", f"{at:.6f}", "-i", _arg(p)]
        filters.append(f"select=gte(t\\,{cut:.9f})")
    elif drop:
        filters.append(f"select=gte(n\\,{drop})")
    scale = f"scale=w={info.width}:h={info.height}:flags={_SWS_FLAGS}"
    if not info.is_gray and not info.pix_fmt.startswith(("rgb", "bgr", "gbr", "pal", "argb", "abgr")):
        scale += f":in_color_matrix={_SWS_MATRIX[info.effective_matrix]}"
    scale += f":in_range={info.effective_range}"
    filters += [scale, f"format={out_fmt}"]
    cmd = [*_base_cmd(), *input_args, "-map", f"0:{info.video_stream}" if not info.is_image_folder else "0:v:0",
           "-an", "-sn", "-dn", "-fps_mode", "passthrough", "-vf", ",".join(filters),
           "-f", "rawvideo", "-pix_fmt", out_fmt, "pipe:1"]
    return _pump(p, cmd, info, start, np.uint16 if deep else np.uint8)


def _seek_point(info: VideoInfo, start: int) -> tuple[float, float] | None:
    """(where to seek, the first time to keep), both in the file's own seconds, or None to decode from
    the first frame. The kept time is halfway between frame ``start - 1`` and frame ``start``, so
    timestamp rounding cannot move the cut by a frame; the frame count check in :func:`_pump` still
    guards the result. Filters that count frames (deinterlacing) always start at the first frame."""
    pts = info.frame_pts
    if start <= 0 or pts is None or len(pts) != info.frame_count or not info.container.startswith(_SEEKABLE):
        return None
    tb = float(info.time_base)
    cut = (int(pts[start - 1]) + int(pts[start])) / 2 * tb
    at = cut - SEEK_MARGIN_S
    if at <= float(pts[0]) * tb:
        return None  # nothing to skip: the wanted frame is within the margin of the first
    return at, cut


def _pump(p: Path, cmd: list[str], info: VideoInfo, start: int, dtype) -> Generator[np.ndarray, None, None]:
    shape = (info.height, info.width, 3)
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail = _StderrTail(proc.stderr)
    got = 0
    try:
        while True:
            frame = np.empty(shape, dtype=dtype)
            view = memoryview(frame).cast("B")
            filled = 0
            while filled < nbytes:
                n = proc.stdout.readinto(view[filled:])
                if not n:
                    break
                filled += n
            if filled == 0:
                break
            if filled < nbytes:
                raise VideoError(p, f"frame {start + got} is incomplete ({filled} of {nbytes} bytes)")
            got += 1
            yield frame
        rc = proc.wait()
        if rc != 0:
            raise VideoError(p, f"decoding failed: {_last_error(_stop(proc, tail), _exit_reason(rc))}")
        expected = info.frame_count - start
        if got != expected:
            raise VideoError(p, f"decoded {got} frames where {expected} were expected; the file may be damaged")
    finally:
        _stop(proc, tail)
