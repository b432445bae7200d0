"""Video input and output through the ffmpeg binary shipped by imageio-ffmpeg.

Plain numpy + subprocess: no MindSpore, no Qt, so the UI, the CLI and the tests can all use it.
Frames always travel through pipes as raw RGB (rgb24 or rgb48le); nothing but the requested output
is ever written to disk.

There is no ffprobe in imageio-ffmpeg, so :func:`probe` reads the banner that ``ffmpeg -i FILE``
prints, and counts frames exactly by stream-copying the video packets into ffmpeg's ``framecrc``
muxer (no decoding: fast even on long files; ``exact=True`` counts by decoding instead).

Conventions
-----------
* ``VideoInfo.rotation`` is in degrees *clockwise*, like the legacy ``rotate`` tag of phone videos
  (a display matrix that rotates 90 degrees counter-clockwise reads as 270).  Pixels are never
  rotated here; the rotation is carried as metadata into the output by :func:`mux`.
* Variable frame rate input is refused (:func:`read_frames` and :func:`mux` raise a
  :class:`VideoError` telling how to convert it) rather than silently re-timed: a constant-rate
  output of a VFR source would drift against its audio.
* Untagged YUV input is decoded with BT.709 when it is HD (width >= 1280 or height >= 720) and
  BT.601 otherwise, limited range: the convention players follow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "MUX_CONTAINERS",
    "WRITER_CODECS",
    "ColorTags",
    "FrameWriter",
    "StreamInfo",
    "VideoError",
    "VideoInfo",
    "ffmpeg_exe",
    "make_test_clip",
    "mux",
    "output_sar",
    "probe",
    "read_frames",
    "vfr_error",
]

log = logging.getLogger(__name__)

WRITER_CODECS = ("h264", "h265", "ffv1", "vp9", "png")
MUX_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}
_WRITER_CONTAINERS = {**MUX_CONTAINERS, ".nut": "nut"}

# swscale's names for the colour matrices ffmpeg reports.
_SWS_MATRIX = {
    "bt709": "bt709",
    "bt470bg": "bt470",
    "smpte170m": "smpte170m",
    "bt601": "bt601",
    "fcc": "fcc",
    "smpte240m": "smpte240m",
    "bt2020nc": "bt2020",
    "bt2020c": "bt2020",
}
_SWS_FLAGS = "bicubic+accurate_rnd+full_chroma_int+bitexact"
_BITMAP_SUBTITLES = {"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub", "dvb_teletext"}
# Audio codecs each container takes by stream copy; others are re-encoded (and a warning logged).
_AUDIO_COPY = {
    "mp4": {"aac", "mp3", "mp2", "ac3", "eac3", "alac", "flac", "opus", "dts"},
    "mov": {"aac", "mp3", "mp2", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le",
            "pcm_s24be", "pcm_s32le", "pcm_f32le", "pcm_u8"},
    "webm": {"opus", "vorbis"},
}
_VIDEO_OK = {"mp4": {"h264", "hevc", "av1", "vp9"}, "mov": {"h264", "hevc", "prores", "png"},
             "webm": {"vp8", "vp9", "av1"}}
_VFR_HINT = "convert to constant frame rate with `ffmpeg -i INPUT -fps_mode cfr -r RATE OUTPUT` first"
_DAMAGE_WORDS = ("partial file", "truncat", "invalid data", "corrupt", "end of file", "error reading",
                 "i/o error")


class VideoError(Exception):
    """A problem with one file, told in one line that names the file: ``"a.mp4: not a video file"``."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = " ".join(str(problem).split()) or "unknown ffmpeg error"
        super().__init__(f"{os.fspath(path)}: {self.problem}")


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the probed file, as far as muxing needs it."""

    index: int                 # absolute index in the file (ffmpeg's 0:N)
    kind: str                  # "video", "audio", "subtitle", "data" or "attachment"
    codec: str
    language: str | None = None
    title: str | None = None
    default: bool = False
    attached_pic: bool = False


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about an input video (or folder of PNG frames)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count: int
    duration: float
    pix_fmt: str
    bit_depth: int
    has_alpha: bool
    is_gray: bool
    rotation: int
    sar: Fraction
    color_matrix: str | None
    color_range: str | None
    color_primaries: str | None
    color_transfer: str | None
    audio_streams: int
    subtitle_streams: int
    has_chapters: bool
    is_vfr: bool
    is_image_folder: bool
    # Extras used by read_frames/mux; defaults keep hand-made instances short.
    codec: str = ""
    container: str = ""
    video_stream: int = 0          # absolute stream index of the video that is read
    start_time: float = 0.0        # start of the file (earliest stream), seconds
    video_start: float = 0.0       # first presentation timestamp of the video, seconds
    field_order: str | None = None
    streams: tuple[StreamInfo, ...] = field(default=())

    @property
    def dtype(self) -> type[np.unsignedinteger]:
        """numpy type of the frames :func:`read_frames` yields."""
        return np.uint16 if self.bit_depth > 8 else np.uint8

    @property
    def effective_matrix(self) -> str:
        """Colour matrix used to decode: the tagged one, else BT.709 for HD and BT.601 for SD."""
        if self.color_matrix in _SWS_MATRIX:
            return self.color_matrix  # type: ignore[return-value]
        return "bt709" if (self.width >= 1280 or self.height >= 720) else "smpte170m"

    @property
    def effective_range(self) -> str:
        """``"pc"`` (full) or ``"tv"`` (limited); untagged YUV is limited, RGB/gray PNG is full."""
        if self.color_range in ("tv", "pc"):
            return self.color_range
        return "pc" if self.pix_fmt.startswith(("yuvj", "rgb", "bgr", "gbr", "pal")) else "tv"


@dataclass(frozen=True)
class ColorTags:
    """Colour tags of an encoded output (ffmpeg names); the matrix/range also drive RGB->YUV."""

    matrix: str = "bt709"
    range: str = "tv"
    primaries: str | None = "bt709"
    transfer: str | None = "bt709"

    @classmethod
    def for_output(cls, info: VideoInfo | None) -> ColorTags:
        """Tags for an upscaled copy of ``info``: keep what the input says, else BT.709 limited."""
        if info is None:
            return cls()
        matrix = info.color_matrix if info.color_matrix in _SWS_MATRIX else "bt709"
        yuv = info.pix_fmt.startswith(("yuv", "nv", "p0", "p2", "p4")) and not info.is_image_folder
        rng = "pc" if info.color_range == "pc" and yuv else "tv"  # full range only from full-range YUV
        return cls(matrix, rng, info.color_primaries or "bt709", info.color_transfer or "bt709")


# --------------------------------------------------------------------------------------------- ffmpeg


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg (the only one we rely on)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _arg(path: str | os.PathLike[str]) -> str:
    """A path as an ffmpeg argument: absolute, so a name like ``a:b.mp4`` is never read as a protocol."""
    return os.fspath(Path(path).absolute())


def _base_cmd() -> list[str]:
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"]


_ADDR = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")


def _clean(line: str) -> str:
    return _ADDR.sub("", line.strip())


def _exit_reason(rc: int | None) -> str:
    """Words for an ffmpeg exit status; a signal death says which (SIGXFSZ: file size limit)."""
    if rc is not None and rc < 0:
        with contextlib.suppress(ValueError):
            name = signal.Signals(-rc).name
            return f"ffmpeg was killed by {name}" + (" (file size limit exceeded)" if name == "SIGXFSZ" else "")
    return f"ffmpeg exited with status {rc}"


def _last_error(lines: Sequence[str], default: str = "ffmpeg failed") -> str:
    """The most telling of ffmpeg's last stderr lines (skipping its generic closing words)."""
    generic = ("conversion failed", "error closing file", "terminating thread", "task finished",
               "error opening output file", "nothing was written", "error applying encoder options",
               "error muxing a packet", "error submitting a packet", "error opening input file",
               "error opening input files", "last message repeated", "error sending frames",
               "could not write header")
    cleaned = [_clean(x) for x in lines if x.strip()]
    for line in reversed(cleaned):
        if not line.lower().startswith(generic):
            return line
    return cleaned[-1] if cleaned else default


class _StderrTail:
    """Drains a process's stderr in a thread (so it can never block ffmpeg) and keeps the tail."""

    def __init__(self, stream, keep: int = 40) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        with contextlib.suppress(ValueError, OSError):
            for raw in iter(stream.readline, b""):
                text = raw.decode("utf-8", "replace").strip()
                if text:
                    self.lines.append(text)

    def join(self) -> list[str]:
        self._thread.join(timeout=5)
        return list(self.lines)


def _stop(proc: subprocess.Popen, tail: _StderrTail | None = None) -> list[str]:
    """Kill (if still running) and reap ``proc`` so no zombie ffmpeg is left; return stderr's tail."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    lines = tail.join() if tail is not None else []
    if proc.stderr is not None:
        with contextlib.suppress(OSError):
            proc.stderr.close()
    return lines


# --------------------------------------------------------------------------------------------- banner


@dataclass
class _RawStream:
    index: int
    kind: str
    language: str | None
    desc: str
    meta: dict[str, str] = field(default_factory=dict)
    side: list[str] = field(default_factory=list)


@dataclass
class _Banner:
    container: str
    duration: float | None
    start: float
    streams: list[_RawStream]
    chapters: int
    lines: list[str]


_STREAM_RE = re.compile(
    r"^\s*Stream #0:(\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\(([^)]*)\))?: (Video|Audio|Subtitle|Data|Attachment): ?(.*)$"
)
_DUR_RE = re.compile(r"Duration: (?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)(?:, start: (-?\d+(?:\.\d+)?))?")


def _hms(h: str, m: str, s: str) -> float:
    return int(h) * 3600 + int(m) * 60 + float(s)


def _open_error(path: Path, text: str) -> VideoError:
    low = text.lower()
    if "moov atom not found" in low and "low score" not in low:
        return VideoError(path, "truncated or damaged file (moov atom not found)")
    if "permission denied" in low:
        return VideoError(path, "cannot read file (permission denied)")
    if "end of file" in low:
        return VideoError(path, "truncated or damaged file (unexpected end of file)")
    if "invalid data" in low or "low score" in low:
        return VideoError(path, "not a video file (unrecognised format)")
    return VideoError(path, f"cannot open: {_last_error(text.splitlines())}")


def _banner(path: Path) -> _Banner:
    """Run ``ffmpeg -i`` (no output) and parse what it prints about input #0."""
    proc = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", _arg(path)],
                          capture_output=True, check=False)
    text = proc.stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    head = next((i for i, x in enumerate(lines) if x.startswith("Input #0")), None)
    if head is None:
        raise _open_error(path, text)
    container = lines[head].split(",")[1].strip() if "," in lines[head] else ""
    duration, start, chapters = None, 0.0, 0
    streams: list[_RawStream] = []
    cur: _RawStream | None = None
    mode = ""
    for line in lines[head + 1:]:
        if not line.startswith(" "):
            break  # "At least one output file must be specified" or the next section
        s = line.strip()
        m = _STREAM_RE.match(line)
        if m:
            cur = _RawStream(int(m.group(1)), m.group(3).lower(), m.group(2), m.group(4))
            streams.append(cur)
            mode = ""
            continue
        if s.startswith("Duration:"):
            dm = _DUR_RE.search(s)
            if dm and dm.group(1) is not None:
                duration = _hms(dm.group(1), dm.group(2), dm.group(3))
            if dm and dm.group(4) is not None:
                start = float(dm.group(4))
            continue
        if s.startswith("Chapter #"):
            chapters += 1
            cur = None
            continue
        if s in ("Metadata:", "Side data:"):
            mode = "side" if s == "Side data:" else "meta"
            continue
        if cur is None:
            continue
        if mode == "side":
            cur.side.append(s)
        elif mode == "meta" and ":" in s:
            key, _, value = s.partition(":")
            cur.meta.setdefault(key.strip().lower(), value.strip())
    return _Banner(container, duration, start, streams, chapters, lines)


def _split_top(desc: str) -> list[str]:
    """Split ffmpeg's stream description on commas that are not inside () or []."""
    parts, depth, buf = [], 0, []
    for ch in desc:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf).strip())
    return [p for p in parts if p]


_FIELD_WORDS = {"progressive", "top first", "bottom first", "top coded first (swapped)",
                "bottom coded first (swapped)"}
_CHROMA_LOC = {"left", "center", "topleft", "top", "bottomleft", "bottom", "unspecified"}


def _rate(parts: list[str], unit: str) -> float | None:
    for p in parts:
        m = re.match(rf"^(\d+(?:\.\d+)?)(k?) {unit}\b", p)
        if m:
            return float(m.group(1)) * (1000 if m.group(2) else 1)
    return None


@dataclass
class _VideoDesc:
    codec: str
    pix_fmt: str
    width: int
    height: int
    sar: Fraction
    fps: float | None
    tbr: float | None
    matrix: str | None = None
    range: str | None = None
    primaries: str | None = None
    transfer: str | None = None
    field_order: str | None = None


def _parse_video(desc: str) -> _VideoDesc:
    parts = _split_top(desc)
    codec = parts[0].split()[0] if parts else "unknown"
    pix_fmt, matrix, rng, pri, trc, field_order = "none", None, None, None, None, None
    if len(parts) > 1:
        m = re.match(r"^([\w]+)(?:\((.*)\))?$", parts[1])
        if m and not re.match(r"^\d+x\d+", parts[1]):
            pix_fmt = m.group(1)
            for item in (x.strip() for x in (m.group(2) or "").split(",")):
                if item in ("tv", "pc"):
                    rng = item
                elif "/" in item:
                    matrix, pri, trc = (x or None for x in item.split("/")[:3])
                elif item in _FIELD_WORDS:
                    field_order = item
                elif item and item not in _CHROMA_LOC:
                    matrix = pri = trc = item
    width = height = 0
    sar = Fraction(1)
    for p in parts:
        m = re.match(r"^(\d+)x(\d+)", p)
        if m and not width:
            width, height = int(m.group(1)), int(m.group(2))
    for m in re.finditer(r"SAR (\d+):(\d+)", desc):  # the last one is the container's, which wins
        if int(m.group(1)) and int(m.group(2)):
            sar = Fraction(int(m.group(1)), int(m.group(2)))

    def known(v: str | None) -> str | None:
        return None if v in (None, "unknown", "reserved", "unspecified") else v

    return _VideoDesc(codec, pix_fmt, width, height, sar, _rate(parts, "fps"), _rate(parts, "tbr"),
                      known(matrix), known(rng), known(pri), known(trc), field_order)


def _bit_depth(pix_fmt: str) -> int:
    if re.match(r"^(rgb48|bgr48|rgba64|bgra64|ya16)", pix_fmt):
        return 16
    m = re.search(r"(f?)(\d+)(le|be)$", pix_fmt)
    if not m:
        return 8
    if m.group(1):
        return 16  # float formats: keep full precision
    n = int(m.group(2))
    return n if 8 < n <= 16 else 8


def _has_alpha(pix_fmt: str) -> bool:
    return bool(re.match(r"^(yuva|gbrap|ya\d|rgba|bgra|argb|abgr|ayuv|vuya)", pix_fmt))


def _is_gray(pix_fmt: str) -> bool:
    return bool(re.match(r"^(gray|ya\d|monow|monob)", pix_fmt))


def _rotation(raw: _RawStream) -> int:
    for s in raw.side:
        m = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees", s)
        if m:
            return int(round(-float(m.group(1)))) % 360  # display matrix is counter-clockwise
    if "rotate" in raw.meta:
        with contextlib.suppress(ValueError):
            return int(round(float(raw.meta["rotate"]))) % 360
    return 0


# --------------------------------------------------------------------------------------------- packets


@dataclass
class _Scan:
    tb: Fraction
    pts: np.ndarray          # sorted presentation timestamps of the kept (non-discarded) packets
    count: int               # kept packets (more than len(pts) when some carry no timestamp)
    last_duration: int
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
    last_dur, corrupt = 0, 0
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
    errors = [x for x in proc.stderr.decode("utf-8", "replace").splitlines() if x.strip()]
    if proc.returncode != 0 and not errors:
        errors = [f"ffmpeg exited with status {proc.returncode}"]
    arr = np.sort(np.asarray([t for t in pts if t != _NOPTS], dtype=np.int64))
    return _Scan(tb, arr, len(pts), last_dur, corrupt, errors)


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
    video_start = float(scan.pts[0]) * tb
    video_end = float(scan.pts[-1] + max(scan.last_duration, 0)) * tb
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


# --------------------------------------------------------------------------------------------- reading


def vfr_error(info: VideoInfo) -> VideoError:
    """The error raised for variable-frame-rate input (one line, says how to convert)."""
    return VideoError(info.path, f"variable frame rate is not supported; {_VFR_HINT} "
                                 f"(this file averages {float(info.fps):.3f} fps)")


def read_frames(
    path: str | os.PathLike[str],
    info: VideoInfo | None = None,
    start: int = 0,
    *,
    warn: Callable[[str], None] | None = None,
) -> Generator[np.ndarray, None, None]:
    """Yield the frames of ``path`` as HxWx3 RGB arrays, one ffmpeg process streaming raw video.

    * uint8 for 8-bit input, uint16 on the full 0..65535 scale for deeper input (10-bit is not
      truncated to 8);
    * decoded with the file's own colour matrix and range (see :attr:`VideoInfo.effective_matrix`);
    * no auto-rotation: pixels come in coded orientation, ``info.rotation`` says how to show them;
    * grayscale comes as three identical channels; an alpha channel is dropped, with a warning
      (``warnings.warn`` and a log line, or ``warn(text)`` when given), because the model only sees colour;
    * ``start`` skips that many frames (exactly, by frame index) so a job can resume;
    * works for a folder of PNG frames too; variable frame rate input raises :class:`VideoError`.

    The checks (probe, VFR, ``start``) run at the call; ffmpeg starts at the first ``next()``.
    Closing the iterator early kills and reaps ffmpeg. If fewer or more frames come out than
    ``info.frame_count`` says, :class:`VideoError` is raised after the last frame.
    """
    p = Path(path)
    info = info or probe(p)
    if start < 0:
        raise ValueError("start must be >= 0")
    if info.is_vfr:
        raise vfr_error(info)
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
        input_args, drop = _folder_input(info, start)
    else:
        input_args, drop = ["-noautorotate", "-i", _arg(p)], start
    filters = []
    if drop:
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


# --------------------------------------------------------------------------------------------- writing


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
        cmd = [*_base_cmd(), "-y", "-f", "rawvideo", "-pix_fmt", in_fmt, "-s", f"{self.width}x{self.height}",
               "-framerate", f"{self.fps.numerator}/{self.fps.denominator}", "-i", "pipe:0",
               *self._codec_args(Fraction(sar), crf, preset, threads),
               "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", *fmt, target]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE)
        except OSError as e:
            self._discard()
            raise VideoError(self.path, f"cannot start ffmpeg ({e})") from None
        self._tail = _StderrTail(self._proc.stderr)

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


# --------------------------------------------------------------------------------------------- muxing


def _fmt_seconds(x: Fraction | float) -> str:
    return f"{float(x):.9f}"


def _concat_path(p: Path) -> str:
    return "file:" + os.fspath(p.resolve()).replace("'", "'\\''")


def mux(
    segments: Sequence[str | os.PathLike[str]],
    source: VideoInfo,
    output: str | os.PathLike[str],
    keep_audio: bool = True,
    keep_subtitles: bool = True,
    *,
    keep_chapters: bool = True,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Join video-only segments by stream copy and add ``source``'s audio, subtitles, chapters.

    Segments must share codec and settings (as :class:`FrameWriter` makes them). Each is placed
    at exactly ``frames / source.fps`` after the previous one, so long outputs do not drift
    against the audio. From ``source`` it carries: audio (copied; re-encoded only where the
    container cannot hold the codec: AAC for mp4/mov, Opus for webm, with a warning), subtitles
    (copied; text converted to mov_text for mp4/mov and WebVTT for webm, bitmap subtitles dropped
    there with a warning), chapters, global and per-stream metadata (languages, titles), the
    video's start offset relative to the other streams, rotation, the display aspect (SAR scaled to
    the new size) and colour primaries/transfer when the segments lack them. Fonts attached to a
    Matroska source are kept in Matroska output.

    Warnings go to ``warn(text)`` when given (a job shows them as log lines), else to the logger.
    The container follows ``output``'s suffix (.mp4 .m4v .mkv .mov .webm). The file is written
    under a temporary name in the same folder and renamed onto ``output`` only when ffmpeg
    succeeded; on failure a one-line :class:`VideoError` is raised and nothing is left behind.
    """
    out = Path(output)
    if warn is None:
        warn = log.warning
    container = MUX_CONTAINERS.get(out.suffix.lower())
    if container is None:
        raise VideoError(out, f"unsupported output container '{out.suffix}' (use .mp4, .mkv, .mov or .webm)")
    if not segments:
        raise VideoError(out, "no segments to join")
    if source.is_vfr:
        raise vfr_error(source)
    segs = [Path(s) for s in segments]
    infos = [probe(s) for s in segs]
    first = infos[0]
    for s, i in zip(segs, infos, strict=True):
        if (i.codec, i.width, i.height, i.pix_fmt) != (first.codec, first.width, first.height, first.pix_fmt):
            raise VideoError(s, f"segment differs from {segs[0].name} ({i.codec} {i.width}x{i.height} {i.pix_fmt})")
        if i.fps != source.fps:
            raise VideoError(s, f"segment frame rate {i.fps} differs from the source's {source.fps}")
    ok = _VIDEO_OK.get(container)
    if ok is not None and first.codec not in ok:
        raise VideoError(out, f"{container} cannot hold {first.codec} video (use .mkv)")
    total = sum(i.frame_count for i in infos)
    if total != source.frame_count:
        warn(f"{out}: segments hold {total} frames, the source {source.frame_count}; "
             "audio will not line up at the end")

    lines = ["ffconcat version 1.0"]
    for s, i in zip(segs, infos, strict=True):
        lines += [f"file '{_concat_path(s)}'", f"duration {_fmt_seconds(Fraction(i.frame_count) / source.fps)}"]
    listing = ("\n".join(lines) + "\n").encode()

    cmd = [*_base_cmd(), "-y"]
    if source.rotation:
        cmd += ["-display_rotation:v:0", str((-source.rotation) % 360)]
    offset = source.video_start - source.start_time
    if not source.is_image_folder and abs(offset) > 1e-6:
        cmd += ["-itsoffset", _fmt_seconds(offset)]
    cmd += ["-protocol_whitelist", "file,pipe", "-f", "concat", "-safe", "0", "-i", "pipe:0"]
    use_source = not source.is_image_folder and Path(source.path).is_file()
    if use_source:
        cmd += ["-i", _arg(source.path)]
    cmd += ["-map", "0:v:0", "-c:v", "copy"]
    na = ns = 0
    if use_source:
        for s in source.streams:
            if s.kind == "audio" and keep_audio:
                cmd += ["-map", f"1:{s.index}"]
                allowed = _AUDIO_COPY.get(container)
                if allowed is None or s.codec in allowed:
                    cmd += [f"-c:a:{na}", "copy"]
                else:
                    enc, rate = ("libopus", "160k") if container == "webm" else ("aac", "256k")
                    warn(f"{out}: {s.codec} audio cannot go into {container}; re-encoding it with {enc}")
                    cmd += [f"-c:a:{na}", enc, f"-b:a:{na}", rate]
                na += 1
            elif s.kind == "subtitle" and keep_subtitles:
                conv = _subtitle_codec(container, s.codec)
                if conv is None:
                    warn(f"{out}: {s.codec} subtitles cannot go into {container}; dropped")
                    continue
                cmd += ["-map", f"1:{s.index}", f"-c:s:{ns}", conv]
                ns += 1
        if container == "matroska":
            cmd += ["-map", "1:t?", "-c:t", "copy"]
        cmd += ["-map_metadata", "1", "-map_chapters", "1" if keep_chapters and source.has_chapters else "-1"]
        vmeta = next((s for s in source.streams if s.index == source.video_stream), None)
        if vmeta is not None:
            for key, val in (("language", vmeta.language), ("title", vmeta.title)):
                if val:
                    cmd += ["-metadata:s:v:0", f"{key}={val}"]
    else:
        cmd += ["-map_metadata", "-1", "-map_chapters", "-1"]
    want_sar = output_sar(source, first.width, first.height)
    if want_sar != first.sar:
        dar = want_sar * Fraction(first.width, first.height)
        cmd += ["-aspect", f"{dar.numerator}:{dar.denominator}"]
        bsf = {"h264": "h264_metadata", "hevc": "hevc_metadata"}.get(first.codec)
        if bsf:
            cmd += ["-bsf:v", f"{bsf}=sample_aspect_ratio={want_sar.numerator}/{want_sar.denominator}"]
    matrix = "rgb" if first.color_matrix == "gbr" else first.color_matrix
    for opt, val in (("-colorspace", matrix), ("-color_range", first.color_range),
                     ("-color_primaries", first.color_primaries or source.color_primaries),
                     ("-color_trc", first.color_transfer or source.color_transfer)):
        if val:
            cmd += [opt, val]
    if container in ("mp4", "mov"):
        cmd += ["-movflags", "+faststart"]
        if first.codec == "hevc":
            cmd += ["-tag:v", "hvc1"]
    # bitexact: no random ids or dates, so a resumed job yields the same bytes as an uninterrupted one
    cmd += ["-max_muxing_queue_size", "4096", "-fflags", "+bitexact", "-f", container]

    temp = _atomic_temp(out)
    try:
        proc = subprocess.run([*cmd, _arg(temp)], input=listing, capture_output=True, check=False)
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").splitlines()
            raise VideoError(out, f"muxing failed: {_last_error(lines, _exit_reason(proc.returncode))}")
        _publish(temp, out)
    except OSError as e:
        raise VideoError(out, f"muxing failed ({e.strerror or e})") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _subtitle_codec(container: str, codec: str) -> str | None:
    bitmap = codec in _BITMAP_SUBTITLES
    if container in ("mp4", "mov"):
        return None if bitmap else ("copy" if codec == "mov_text" else "mov_text")
    if container == "webm":
        return None if bitmap else ("copy" if codec == "webvtt" else "webvtt")
    return "srt" if codec == "mov_text" else "copy"


# --------------------------------------------------------------------------------------------- test clips


_CLIP_ENCODERS = {"h264": "libx264", "h265": "libx265", "ffv1": "ffv1", "vp9": "libvpx-vp9"}


def make_test_clip(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    frames: int,
    fps: Fraction = Fraction(25),
    audio: bool | int = True,
    subtitles: bool | int = False,
    *,
    codec: str | None = None,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    sar: Fraction | None = None,
    chapters: bool = False,
    audio_offset: float = 0.0,
    vfr: bool = False,
    faststart: bool = False,
    color: ColorTags | None = None,
    languages: Sequence[str] = ("eng", "fra", "deu"),
    sample_rate: int = 48000,
    audio_codec: str | None = None,
) -> Path:
    """Build a small synthetic clip (testsrc2 video, sine audio, SubRip cues) for tests and benches.

    ``path`` without a suffix (or ``codec="png"``) makes a folder of 00000000.png... frames.
    Odd sizes are cut from the next even testsrc2 size in RGB. ``rotation`` is clockwise degrees,
    ``audio_offset`` delays the audio (negative: delays the video), ``vfr`` makes a timestamp jump
    of half a second after frame 10, ``frames=0`` keeps an empty video track beside the audio.
    Returns ``path``.
    """
    p = Path(path)
    fps = Fraction(fps)
    rate = f"{fps.numerator}/{fps.denominator}"
    w2, h2 = width + width % 2, height + height % 2
    vf = [f"testsrc2=size={w2}x{h2}:rate={rate}"]
    if (w2, h2) != (width, height):
        vf += ["format=rgb24", f"crop={width}:{height}:0:0"]
    if vfr:
        vf.append(f"setpts='N/({rate})/TB+gte(N\\,10)*0.5/TB'")
    if sar is not None:
        vf.append(f"setsar={Fraction(sar).numerator}/{Fraction(sar).denominator}")
    vf.append(f"format={pix_fmt}")
    if codec == "png" or not p.suffix:
        p.mkdir(parents=True, exist_ok=True)
        _run_ok(p, [*_base_cmd(), "-y", "-f", "lavfi", "-i", ",".join(vf), "-frames:v", str(frames),
                    "-start_number", "0", _arg(p).replace("%", "%%") + "/%08d.png"])
        return p
    suffix = p.suffix.lower()
    if codec is None:
        rgb = _has_alpha(pix_fmt) or pix_fmt.startswith(("rgb", "bgr", "gbr"))
        codec = "vp9" if suffix == ".webm" else ("ffv1" if rgb else "h264")
    enc = _CLIP_ENCODERS.get(codec, codec)
    n_audio, n_subs = int(audio), int(subtitles)
    seconds = max(frames, 1) / fps
    with tempfile.TemporaryDirectory(prefix="vrt-clip-") as tmp:
        cmd = [*_base_cmd(), "-y"]
        if audio_offset < 0:
            cmd += ["-itsoffset", f"{-audio_offset:.6f}"]
        if rotation:
            cmd += ["-display_rotation", str((-rotation) % 360), "-noautorotate"]
        cmd += ["-f", "lavfi", "-i", ",".join(vf)]
        for k in range(n_audio):
            if audio_offset > 0:
                cmd += ["-itsoffset", f"{audio_offset:.6f}"]
            sine = f"sine=frequency={440 * (k + 1)}:sample_rate={sample_rate}:duration={float(seconds):.6f}"
            cmd += ["-f", "lavfi", "-i", sine]
        for k in range(n_subs):
            srt = Path(tmp) / f"s{k}.srt"
            srt.write_text(_srt_cues(float(seconds), k))
            cmd += ["-i", _arg(srt)]
        if chapters:
            meta = Path(tmp) / "chapters.txt"
            half = int(float(seconds) * 500)
            meta.write_text(f";FFMETADATA1\ntitle=test clip\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND={half}\n"
                            f"title=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART={half}\nEND={half * 2}\ntitle=Two\n")
            cmd += ["-i", _arg(meta)]
        cmd += ["-map", "0:v", "-frames:v", str(max(frames, 1))]
        for k in range(n_audio):
            cmd += ["-map", f"{1 + k}:a", f"-metadata:s:a:{k}", f"language={languages[k % len(languages)]}"]
        for k in range(n_subs):
            lang = languages[(k + 1) % len(languages)]
            cmd += ["-map", f"{1 + n_audio + k}:s", f"-metadata:s:s:{k}", f"language={lang}"]
        if chapters:
            cmd += ["-map_metadata", str(1 + n_audio + n_subs), "-map_chapters", str(1 + n_audio + n_subs)]
        cmd += ["-c:v", enc, "-pix_fmt", pix_fmt, "-threads", "1"]
        if enc == "libx265":
            cmd += ["-x265-params", "log-level=error"]
        if enc == "libvpx-vp9":
            cmd += ["-deadline", "realtime", "-cpu-used", "8"]
        if n_audio:
            cmd += ["-c:a", audio_codec or ("libopus" if suffix == ".webm" else "aac")]
        if n_subs:
            text_codec = {".mp4": "mov_text", ".m4v": "mov_text", ".mov": "mov_text", ".webm": "webvtt"}
            cmd += ["-c:s", text_codec.get(suffix, "srt")]
        if vfr:
            cmd += ["-fps_mode", "passthrough"]
        if faststart and suffix in (".mp4", ".mov", ".m4v"):
            cmd += ["-movflags", "+faststart"]
        if color is not None:
            cmd += ["-colorspace", color.matrix, "-color_range", color.range]
            cmd += ["-color_primaries", color.primaries or "bt709", "-color_trc", color.transfer or "bt709"]
        target = p if frames > 0 else Path(tmp) / f"one{p.suffix}"
        _run_ok(p, [*cmd, "-fflags", "+bitexact", _arg(target)])
        if frames == 0:  # keep the (now empty) video track: drop every video packet
            _run_ok(p, [*_base_cmd(), "-y", "-i", _arg(target), "-map", "0", "-c", "copy",
                        "-bsf:v", "noise=drop=1", _arg(p)])
    return p


def _srt_cues(seconds: float, k: int) -> str:
    def ts(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    cues, n, t = [], 1, 0.0
    step = max(seconds / 3, 0.2)
    while t + 0.1 < seconds and n <= 50:
        cues.append(f"{n}\n{ts(t)} --> {ts(min(t + step * 0.8, seconds))}\nCue {n} track {k}\n")
        n += 1
        t += step
    return "\n".join(cues) + "\n"


def _run_ok(p: Path, cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise VideoError(p, _last_error(proc.stderr.decode("utf-8", "replace").splitlines()))
