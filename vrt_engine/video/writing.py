"""FrameWriter: encode RGB frames into a video file or PNG folder that appears only when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from .ffmpeg import VideoError, _arg, _base_cmd, _exit_reason, _last_error, _StderrTail, _stop
from .info import _SWS_FLAGS, _SWS_MATRIX, ColorTags, VideoInfo
from .timing import setpts_expression

WRITER_CODECS = ("h264", "h265", "ffv1", "vp9", "png")
MUX_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}
_WRITER_CONTAINERS = {**MUX_CONTAINERS, ".nut": "nut"}


def output_sar(source: VideoInfo, width: int, height: int) -> Fraction:
    """Sample aspect ratio that keeps ``source``'s display aspect at a ``width`` x ``height`` size."""
    sar = source.sar * Fraction(source.width * height, source.height * width)
    return sar if sar > 0 else Fraction(1)


def _atomic_temp(final: Path, *, directory: bool = False) -> Path:
    """A fresh hidden name beside ``final`` (same filesystem, so a rename is atomic)."""
    parent = final.parent if str(final.parent) else Path(".")
    if not parent.is_dir():
        raise VideoError(final, f"output folder does not exist ({parent})")
    prefix = f".{final.name}."
    try:
        if directory:
            return Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=parent))
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=f".partial{final.suffix}", dir=parent)
        os.close(fd)
        return Path(name)
    except OSError as e:
        raise VideoError(final, f"cannot write to folder {parent} ({e.strerror or e})") from None


def _publish(temp: Path, final: Path) -> None:
    """fsync, give usual permissions (mkstemp makes 0600) and rename onto ``final``."""
    with open(temp, "rb+") as fh:
        os.fsync(fh.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)
    os.replace(temp, final)


def _setparams(c: ColorTags) -> str:
    """A ``setparams`` filter tagging frames (ffmpeg takes the encoder's tags from the frames)."""
    opts = [f"range={c.range}", f"colorspace={c.matrix}"]
    opts += [f"{k}={v}" for k, v in (("color_primaries", c.primaries), ("color_trc", c.transfer)) if v]
    return "setparams=" + ":".join(opts)


class FrameWriter:
    """Encode RGB frames fed through a pipe into a video-only file (or a folder of PNG frames).

    ``codec``: ``"h264"`` (libx264), ``"h265"`` (libx265, tagged hvc1 in mp4/mov), ``"vp9"``
    (libvpx, for .webm), ``"ffv1"`` (lossless RGB, 16-bit when ``input_bit_depth`` > 8) or
    ``"png"`` (``path`` is a folder receiving 00000000.png, ... from ``start_number``).
    h264/h265 give 4:2:0 (4:4:4 when a side is odd, as 4:2:0 cannot hold it), 10-bit when
    ``input_bit_depth`` > 8. The container follows the suffix (.mp4 .mkv .mov .webm .nut).

    Colour: RGB->YUV uses ``color.matrix``/``color.range`` and the output is tagged with all four
    ``color`` fields; pass ``ColorTags.for_output(info)`` (or the ``VideoInfo``) to follow the input.
    The default is BT.709 limited range.

    Output is deterministic (``threads=1``, bitexact muxing, no dates or random ids): the same
    frames and settings give a byte-identical file, so resumed segments match. The file is written
    under a hidden temporary name and renamed into place by :meth:`close`, so ``path`` exists only
    when complete. Frames may be uint8, uint16 (full scale) or float in [0, 1].

    ``timestamps`` (ticks of ``time_base``, one per frame to be written) gives each frame its own
    presentation time, relative to the first, instead of N / ``fps``: for variable frame rate
    (see video.timing). Use a container that keeps the time base exactly (.nut, .mp4, .mov);
    Matroska rounds to 1 ms. PNG output ignores them (frames are numbered, not timed).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps: Fraction,
        codec: str = "h264",
        crf: int = 18,
        preset: str = "medium",
        color: ColorTags | VideoInfo | None = None,
        sar: Fraction = Fraction(1),
        input_bit_depth: int = 8,
        *,
        threads: int = 1,
        start_number: int = 0,
        timestamps: np.ndarray | None = None,
        time_base: Fraction | None = None,
    ) -> None:
        self.path = Path(path)
        if codec not in WRITER_CODECS:
            raise ValueError(f"codec must be one of {WRITER_CODECS}, not {codec!r}")
        if width <= 0 or height <= 0:
            raise ValueError("width and height must be positive")
        self.width, self.height, self.codec = int(width), int(height), codec
        self.fps = Fraction(fps)
        self.deep = input_bit_depth > 8
        self.color = color if isinstance(color, ColorTags) else ColorTags.for_output(color)
        self.frames = 0
        self._closed = False
        self._ticks = None if codec == "png" or timestamps is None else np.asarray(timestamps, dtype=np.int64)
        self._script: Path | None = None
        if self._ticks is not None and (time_base is None or len(self._ticks) == 0):
            raise ValueError("timestamps need a time_base and at least one entry")
        if codec == "png":
            self._temp = _atomic_temp(self.path, directory=True)
            target = _arg(self._temp).replace("%", "%%") + "/%08d.png"
            fmt = ["-f", "image2", "-start_number", str(start_number)]
        else:
            container = _WRITER_CONTAINERS.get(self.path.suffix.lower())
            if container is None:
                raise VideoError(self.path, f"unsupported container '{self.path.suffix}' "
                                            f"(use {', '.join(_WRITER_CONTAINERS)})")
            self._temp = _atomic_temp(self.path)
            target = _arg(self._temp)
            fmt = ["-f", container]
        in_fmt = "rgb48le" if self.deep else "rgb24"
        codec_args = self._codec_args(Fraction(sar), crf, preset, threads)
        if self._ticks is not None:
            codec_args = self._timed(codec_args, Fraction(time_base))
        cmd = [*_base_cmd(), "-y", "-f", "rawvideo", "-pix_fmt", in_fmt, "-s", f"{self.width}x{self.height}",
               "-framerate", f"{self.fps.numerator}/{self.fps.denominator}", "-i", "pipe:0",
               *codec_args,
               "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", *fmt, target]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE)
        except OSError as e:
            self._discard()
            raise VideoError(self.path, f"cannot start ffmpeg ({e})") from None
        self._tail = _StderrTail(self._proc.stderr)

    def _timed(self, args: list[str], tb: Fraction) -> list[str]:
        """Put ``settb`` + ``setpts`` before the filters, through a script file (it can be long)."""
        k = args.index("-vf")
        ticks = self._ticks - self._ticks[0]
        chain = f"settb={tb.numerator}/{tb.denominator},setpts='{setpts_expression(ticks)}',{args[k + 1]}"
        self._script = self._temp.with_name(self._temp.name + ".filter")
        try:
            self._script.write_text(chain)
        except OSError as e:
            self._discard()
            raise VideoError(self.path, f"cannot write to folder {self._temp.parent} ({e.strerror or e})") from None
        return [*args[:k], "-/filter:v", _arg(self._script), *args[k + 2:],
                "-fps_mode", "passthrough", "-enc_time_base:v", f"{tb.numerator}/{tb.denominator}"]

    def _codec_args(self, sar: Fraction, crf: int, preset: str, threads: int) -> list[str]:
        odd = self.width % 2 or self.height % 2
        c = self.color
        sar_f = f"setsar={sar.numerator}/{sar.denominator}"
        if self.codec in ("ffv1", "png"):
            pix = {"ffv1": ("bgr0", "gbrp16le"), "png": ("rgb24", "rgb48be")}[self.codec][self.deep]
            tags = _setparams(ColorTags("gbr", "pc", c.primaries, c.transfer))
            args = ["-vf", f"{sar_f},format={pix},{tags}", "-pix_fmt", pix]
            if self.codec == "ffv1":
                args += ["-c:v", "ffv1", "-level", "3", "-slices", "4", "-slicecrc", "1", "-g", "1",
                         "-threads", str(threads)]
            else:
                args += ["-c:v", "png"]
            return args
        sub = "444" if odd else "420"
        pix = f"yuv{sub}p10le" if self.deep else f"yuv{sub}p"
        scale = (f"scale=out_color_matrix={_SWS_MATRIX.get(c.matrix, 'bt709')}:out_range={c.range}"
                 f":flags={_SWS_FLAGS}")
        args = ["-vf", f"{scale},{sar_f},format={pix},{_setparams(c)}", "-pix_fmt", pix]
        if self.codec == "h264":
            args += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-threads", str(threads)]
        elif self.codec == "h265":
            pools = "none" if threads == 1 else str(threads)  # WPP threads only: output stays identical
            params = f"log-level=error:pools={pools}:frame-threads=1"
            args += ["-c:v", "libx265", "-preset", preset, "-crf", str(crf), "-x265-params", params]
            if self.path.suffix.lower() in (".mp4", ".m4v", ".mov"):
                args += ["-tag:v", "hvc1"]
        else:  # vp9
            speed = {"ultrafast": 8, "superfast": 7, "veryfast": 6, "faster": 5, "fast": 4,
                     "medium": 3, "slow": 2, "slower": 1, "veryslow": 0}.get(preset, 3)
            args += ["-c:v", "libvpx-vp9", "-crf", str(crf), "-b:v", "0", "-deadline", "good",
                     "-cpu-used", str(speed), "-row-mt", "0", "-threads", str(threads)]
        return args

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _as_pipe_bytes(self, frame: np.ndarray) -> bytes | memoryview:
        a = np.asarray(frame)
        if a.shape != (self.height, self.width, 3):
            raise ValueError(f"frame shape {a.shape} != {(self.height, self.width, 3)}")
        want = np.uint16 if self.deep else np.uint8
        if a.dtype.kind == "f":
            top = 65535.0 if self.deep else 255.0
            a = np.clip(np.rint(np.nan_to_num(a) * top), 0, top).astype(want)
        elif a.dtype == np.uint8 and self.deep:
            a = a.astype(np.uint16) * 257
        elif a.dtype == np.uint16 and not self.deep:
            a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
        elif a.dtype != want:
            raise ValueError(f"unsupported frame dtype {a.dtype}")
        if self.deep and a.dtype.byteorder == ">":
            a = a.astype("<u2")
        return memoryview(np.ascontiguousarray(a)).cast("B")

    def write(self, frame: np.ndarray) -> None:
        """Send one HxWx3 RGB frame to the encoder (blocks while ffmpeg is busy)."""
        if self._closed:
            raise VideoError(self.path, "writer is closed")
        if self._ticks is not None and self.frames >= len(self._ticks):
            raise ValueError(f"{self.path}: more frames than the {len(self._ticks)} timestamps given")
        data = self._as_pipe_bytes(frame)
        try:
            self._proc.stdin.write(data)
        except OSError:  # BrokenPipe: ffmpeg died (disk full, bad option, ...)
            self._fail()
        self.frames += 1

    def _fail(self) -> None:
        self._closed = True
        lines = _stop(self._proc, self._tail)
        default = _exit_reason(self._proc.returncode)
        self._discard()
        raise VideoError(self.path, f"encoding failed: {_last_error(lines, default)}")

    def _discard(self) -> None:
        if self._script is not None:
            with contextlib.suppress(OSError):
                self._script.unlink()
        if self._temp.is_dir():
            shutil.rmtree(self._temp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                self._temp.unlink()

    def abort(self) -> None:
        """Stop without keeping anything (the output path is left untouched)."""
        if not self._closed:
            self._closed = True
            _stop(self._proc, self._tail)
            self._discard()

    def close(self) -> None:
        """Finish the file and rename it into place; raises :class:`VideoError` on any failure."""
        if self._closed:
            return
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        rc = self._proc.wait()
        if rc != 0:
            self._fail()
        self._closed = True
        _stop(self._proc, self._tail)
        if self._script is not None:
            with contextlib.suppress(OSError):
                self._script.unlink()
        if self.frames == 0:
            self._discard()
            raise VideoError(self.path, "no frames were written")
        try:
            if self.codec == "png":  # one rename: the folder appears complete or not at all
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self._temp, 0o777 & ~umask)  # mkdtemp makes 0700
                os.replace(self._temp, self.path)
            else:
                _publish(self._temp, self.path)
        except OSError as e:
            self._discard()
            raise VideoError(self.path, f"cannot finish output ({e.strerror or e})") from None
