"""Interlaced and telecined input: detect it, and choose the ffmpeg filters that make it progressive.

The network must see whole progressive frames: two woven fields would have their combing upscaled.
Detection trusts the stream's field-order flag first, and looks at the pictures with ffmpeg's
``idet`` filter (a few hundred frames from the middle) where flags are known to lie: a stream
flagged interlaced (telecined film, or progressive film in an interlaced stream, is common on DVD)
and MPEG-1/2 or DV flagged progressive or not at all. Other codecs flagged progressive are trusted
without a look: ``idet`` reads synthetic noise (ffmpeg's testsrc2, say) as interlaced, and a wrong
"interlaced" would cost every progressive file half its vertical detail.

What is done (:class:`FieldPlan`): interlaced input is deinterlaced with ``bwdif``, at the same
frame rate (``frame``) or one frame per field at twice the rate (``field``); 3:2 telecined film
gets inverse telecine (``fieldmatch``, ``bwdif`` on frames still combed, ``decimate``: 30 -> 24
fps). Progressive input is never touched. Frame counts after the filters are exact: ``bwdif`` gives
one (or two) frames per frame, ``decimate`` drops one frame in each full cycle of five and none
from a last partial cycle (tests check these against ffmpeg), and :func:`read_frames` raises if
the filtered decode ever yields another count.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction

from .ffmpeg import _arg, ffmpeg_exe
from .info import VideoInfo

DEINTERLACE_MODES = ("auto", "off", "frame", "field")
CHECK_FRAMES = 300  # frames idet looks at, from the middle of the file
# Codecs whose progressive flag (or its absence) is not trusted: DVD/broadcast MPEG-2, MPEG-1, DV.
_LYING_CODECS = {"mpeg2video", "mpeg1video", "dvvideo"}
_MULTI_RE = re.compile(r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+) Undetermined:\s*(\d+)")
_REPEAT_RE = re.compile(r"Repeated Fields: Neither:\s*(\d+) Top:\s*(\d+) Bottom:\s*(\d+)")


@dataclass(frozen=True)
class FieldCheck:
    """What ``idet`` counted: multi-frame verdicts and repeated fields (3:2 pulldown repeats one
    top and one bottom field in every five frames; true interlaced or progressive video repeats none)."""

    tff: int = 0
    bff: int = 0
    progressive: int = 0
    undetermined: int = 0
    repeated_top: int = 0
    repeated_bottom: int = 0
    repeated_neither: int = 0

    @property
    def frames(self) -> int:
        return self.tff + self.bff + self.progressive + self.undetermined

    def verdict(self) -> str:
        """``"telecine"``, ``"interlaced"``, ``"progressive"`` or ``"unclear"`` (too little motion, mixed)."""
        n = self.frames
        if n == 0:
            return "unclear"
        woven = self.tff + self.bff
        fields = self.repeated_top + self.repeated_bottom + self.repeated_neither
        if fields and min(self.repeated_top, self.repeated_bottom) >= 0.1 * fields and woven >= 0.2 * n:
            return "telecine"
        if woven >= 0.5 * n and woven >= 2 * self.progressive:
            return "interlaced"
        if self.progressive >= 0.5 * n and self.progressive >= 2 * woven:
            return "progressive"
        return "unclear"

    @property
    def order(self) -> str | None:
        """The field order the pictures show, when they show one clearly."""
        if self.tff >= 2 * self.bff and self.tff > 0:
            return "tff"
        if self.bff >= 2 * self.tff and self.bff > 0:
            return "bff"
        return None

    def summary(self) -> str:
        return (f"idet, {self.frames} frames: {self.tff} tff, {self.bff} bff, {self.progressive} progressive, "
                f"{self.undetermined} unclear, {self.repeated_top}+{self.repeated_bottom} repeated fields")


@dataclass(frozen=True)
class FieldPlan:
    """What the decode does about fields: ``action`` is ``none``, ``frame``, ``field`` or ``ivtc``."""

    action: str = "none"
    order: str = "tff"
    note: str = ""  # one line for the job log ("" : nothing worth saying, progressive as flagged)

    @property
    def filter(self) -> str:
        """The ffmpeg filters, placed before scaling and frame selection ("" for none)."""
        if self.action == "frame":
            return f"bwdif=mode=send_frame:parity={self.order}:deint=all"
        if self.action == "field":
            return f"bwdif=mode=send_field:parity={self.order}:deint=all"
        if self.action == "ivtc":
            return (f"fieldmatch=order={self.order}:combmatch=full,"
                    f"bwdif=mode=send_frame:parity={self.order}:deint=interlaced,decimate")
        return ""

    def frame_count(self, frames: int) -> int:
        """Frames out of the filters for ``frames`` decoded (exact; see the module docstring)."""
        if self.action == "field":
            return 2 * frames
        if self.action == "ivtc":
            return frames - frames // 5
        return frames

    def frame_rate(self, fps: Fraction) -> Fraction:
        if self.action == "field":
            return fps * 2
        if self.action == "ivtc":
            return fps * Fraction(4, 5)
        return fps

    def apply(self, info: VideoInfo) -> VideoInfo:
        """``info`` as the filtered decode sees it: count, rate and duration after the filters, progressive."""
        if self.action == "none":
            return info
        fps = self.frame_rate(info.fps)
        count = self.frame_count(info.frame_count)
        # timestamps carried through stay right only while every frame stays (bwdif, one frame per frame)
        kept = count == info.frame_count
        return dataclasses.replace(info, fps=fps, frame_count=count, duration=count / float(fps),
                                   field_order="progressive", timestamps=info.timestamps if kept else None,
                                   is_vfr=info.is_vfr and kept)


def flagged_order(info: VideoInfo) -> str | None:
    """``"tff"``/``"bff"`` when the stream is flagged interlaced, else None.

    ffmpeg's Matroska reader names a top-field-first stream "top coded first (swapped)", so the
    first word (top/bottom) is what counts.
    """
    words = (info.field_order or "").lower()
    if words.startswith("top"):
        return "tff"
    if words.startswith("bottom"):
        return "bff"
    return None


def check_fields(info: VideoInfo, frames: int = CHECK_FRAMES) -> FieldCheck:
    """Run ``idet`` on up to ``frames`` frames from the middle of the video (no output written)."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info"]
    if info.frame_count > frames:
        start = (info.frame_count - frames) // 2 / float(info.fps)
        cmd += ["-ss", f"{start:.3f}"]
    if info.is_image_folder:
        from .reading import _folder_input  # the folder's own input arguments (png names, rate)

        cmd += _folder_input(info, 0)[0]
        stream = "0:v:0"
    else:
        cmd += ["-noautorotate", "-i", _arg(info.path)]
        stream = f"0:{info.video_stream}"
    cmd += ["-map", stream, "-an", "-sn", "-dn", "-frames:v", str(frames), "-vf", "idet", "-f", "null", "-"]
    text = subprocess.run(cmd, capture_output=True, check=False).stderr.decode("utf-8", "replace")
    multi = [tuple(map(int, m.groups())) for m in _MULTI_RE.finditer(text)]
    repeat = [tuple(map(int, m.groups())) for m in _REPEAT_RE.finditer(text)]
    if not multi:
        return FieldCheck()
    tff, bff, prog, und = max(multi, key=sum)  # ffmpeg may print an empty report for a probing graph first
    neither, top, bottom = max(repeat, key=sum) if repeat else (0, 0, 0)
    return FieldCheck(tff, bff, prog, und, top, bottom, neither)


def plan_fields(info: VideoInfo, mode: str = "auto") -> FieldPlan:
    """Decide what the decode does about fields for ``mode`` (one of :data:`DEINTERLACE_MODES`).

    ``auto``: detect (flags, then ``idet`` where flags lie); interlaced -> bwdif keeping the rate,
    telecined -> inverse telecine, progressive -> nothing. ``frame``/``field``: deinterlace whatever
    the detection says (for sources it misses), keeping / doubling the rate. ``off``: nothing.
    """
    if mode not in DEINTERLACE_MODES:
        raise ValueError(f"deinterlace: '{mode}' is not one of {', '.join(DEINTERLACE_MODES)}")
    if mode == "off":
        return FieldPlan()
    flags = flagged_order(info)
    look = flags is not None or mode != "auto" or (info.codec in _LYING_CODECS and not info.is_image_folder)
    if not look:
        return FieldPlan()
    check = check_fields(info)
    verdict = check.verdict()
    order = check.order or flags or "tff"
    flagged = info.field_order or "nothing"
    said = f"flags say {flagged}" if flags else f"{info.codec or 'stream'} flagged {flagged}"
    seen = f"{said}; {check.summary()}"
    if mode in ("frame", "field"):
        rate = "frame rate kept" if mode == "frame" else "one frame per field, frame rate doubled"
        extra = {"progressive": "; detection found progressive pictures, deinterlacing anyway as asked",
                 "telecine": "; it looks telecined (--deinterlace auto would use inverse telecine)"}.get(verdict, "")
        return FieldPlan(mode, order, f"deinterlacing ({order}, bwdif, {rate}) as asked{extra}; {seen}")
    if verdict == "telecine":
        return FieldPlan("ivtc", order, f"telecined film ({order}): inverse telecine (fieldmatch + decimate), "
                                        f"{float(info.fps):.3f} -> {float(info.fps * Fraction(4, 5)):.3f} fps; {seen}")
    if verdict == "interlaced" or (verdict == "unclear" and flags is not None):
        why = "interlaced" if verdict == "interlaced" else "interlaced by its flags (pictures unclear)"
        return FieldPlan("frame", order, f"{why} ({order}): deinterlacing with bwdif, frame rate kept "
                                         f"(--deinterlace field for one frame per field); {seen}")
    if flags is not None:
        return FieldPlan(note=f"progressive pictures in a stream flagged interlaced: left as is; {seen}")
    return FieldPlan(note=f"progressive: left as is; {seen}")
