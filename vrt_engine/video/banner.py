"""Parsing the banner ``ffmpeg -i FILE`` prints: streams, duration, chapters, pixel format, colour tags.

There is no ffprobe in imageio-ffmpeg, so this text is the only description of a file's streams.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .ffmpeg import VideoError, _arg, _last_error, ffmpeg_exe


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
