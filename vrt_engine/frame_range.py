"""Part of a video: parse ``--start``/``--end``/``--duration``, resolve them to frames, plan the work.

A position is a time or a frame number:

    90  90.5  1:30  1:30.5  0:01:30.040   seconds, MM:SS(.ms) or HH:MM:SS(.ms) from the first frame
    f2250                                  frame 2250 (the first frame is f0)

A range is ``[first, stop)``: ``--start`` is the first frame in it, ``--end`` the first frame after it
(``--start f40 --end f80`` is frames 40-79), ``--duration`` its length. A time picks the first frame
shown at or after it, so ``--start 10 --end 20`` at 25 fps is frames 250-499, ten seconds.

Why the whole video's plan: the model is temporal, so a frame's output depends on its neighbours and
on where the chunks fall. A range runs the chunks of the whole-video plan that touch it (reading the
frames just outside it as their context) and keeps its own frames, so they equal the same frames of
a whole-video run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import tiling, workfolder
from .video.writing import MUX_CONTAINERS

_TIME = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d+)?)$")
_FRAME = re.compile(r"^[fF](\d+)$")


@dataclass(frozen=True)
class Position:
    """A parsed position: a frame number, or a time in seconds (exact, as typed)."""

    frame: int | None = None
    seconds: Fraction | None = None

    def frames(self, fps: Fraction, times: Sequence[float] | None = None, origin: int = 0) -> int:
        """The first frame at or after this position (a frame count, for a duration).

        ``times`` (each frame's time in seconds from the first, for variable-frame-rate input) counts
        seconds on the input's own clock, from frame ``origin``: a duration from the start frame."""
        if self.frame is not None:
            return self.frame
        assert self.seconds is not None
        if times is None:
            return math.ceil(self.seconds * fps)
        target = float(times[origin]) + float(self.seconds) - 1e-9
        return int(np.searchsorted(np.asarray(times, dtype=np.float64), target, side="left")) - origin


def parse_position(text: str, option: str) -> Position:
    """``90``, ``1:30.5``, ``0:01:30`` (seconds) or ``f2250`` (a frame); ValueError names ``option``."""
    t = text.strip()
    m = _FRAME.match(t)
    if m:
        return Position(frame=int(m.group(1)))
    m = _TIME.match(t)
    if m is None:
        raise ValueError(f"{option}: '{text}' is not a time (90, 1:30, 0:01:30.5) or a frame number (f2250)")
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2) or 0), Fraction(m.group(3))
    if (m.group(1) is not None or m.group(2) is not None) and seconds >= 60:
        raise ValueError(f"{option}: '{text}' has {m.group(3)} seconds (MM:SS needs SS below 60)")
    if m.group(1) is not None and minutes >= 60:
        raise ValueError(f"{option}: '{text}' has {minutes} minutes (HH:MM:SS needs MM below 60)")
    return Position(seconds=hours * 3600 + minutes * 60 + seconds)


@dataclass(frozen=True)
class RangeSpec:
    """The range as asked for (texts as typed, None where not given), before a video gives it frames."""

    start: str | None = None
    end: str | None = None
    duration: str | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.start, self.end, self.duration))

    def check(self) -> None:
        """Syntax only (no video needed): each text parses, and --end and --duration are not both given."""
        if self.end is not None and self.duration is not None:
            raise ValueError("--duration: give --end or --duration, not both")
        for option, text in (("--start", self.start), ("--end", self.end), ("--duration", self.duration)):
            if text is not None:
                parse_position(text, option)

    def resolve(
        self, fps: Fraction, frame_count: int, where: str | Path, times: Sequence[float] | None = None
    ) -> FrameRange | None:
        """Frames ``[first, stop)`` of a video with ``frame_count`` frames at ``fps``; None: the whole video.
        ``times``: each frame's time (variable frame rate), so that times are read on the input's clock.

        A range outside the video, or one that ends at or before its start, is a ValueError of one
        line naming ``where`` (the input) and the option."""
        if not self.given:
            return None
        self.check()
        first = parse_position(self.start, "--start").frames(fps, times) if self.start is not None else 0
        if first >= frame_count:
            raise ValueError(
                f"{where}: --start {self.start} is at or after the end of the video "
                f"({frame_count} frames, {_clock(Fraction(frame_count) / fps)})"
            )
        if self.duration is not None:
            length = parse_position(self.duration, "--duration").frames(fps, times, min(first, frame_count - 1))
            if length < 1:
                raise ValueError(f"{where}: --duration {self.duration} holds no frame")
            stop, option, text = first + length, "--duration", self.duration
        elif self.end is not None:
            stop, option, text = parse_position(self.end, "--end").frames(fps, times), "--end", self.end
            if stop <= first:
                after = f"--start {self.start} (frame {first})" if self.start is not None else "the first frame"
                raise ValueError(f"{where}: --end {self.end} is not after {after}")
        else:
            stop, option, text = frame_count, "", ""
        if stop > frame_count:
            raise ValueError(
                f"{where}: {option} {text} goes past the end of the video "
                f"({frame_count} frames, {_clock(Fraction(frame_count) / fps)})"
            )
        return FrameRange(first, stop)


def _clock(seconds: Fraction) -> str:
    s = float(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{int(h)}:{int(m):02d}:{sec:06.3f}" if h else f"{int(m)}:{sec:06.3f}"


@dataclass(frozen=True)
class FrameRange:
    """Frames ``[first, stop)`` of the input."""

    first: int
    stop: int

    def __post_init__(self) -> None:
        if not 0 <= self.first < self.stop:
            raise ValueError(f"frame range {self.first}..{self.stop} is empty or negative")

    @property
    def count(self) -> int:
        return self.stop - self.first

    @property
    def label(self) -> str:
        """``f40-79``: first and last frame, as a name or a table shows it."""
        return f"f{self.first}-{self.stop - 1}"

    def spec(self) -> RangeSpec:
        """The same range as texts (what the app stores for a range chosen on the frame slider)."""
        return RangeSpec(start=f"f{self.first}", end=f"f{self.stop}")


def with_range_suffix(output: Path, rng: FrameRange | None) -> Path:
    """``NAME_x4.mp4`` -> ``NAME_x4_f40-79.mp4``: a part gets its own output (and work folder)."""
    if rng is None:
        return output
    if output.suffix.lower() in MUX_CONTAINERS:
        return output.with_name(f"{output.stem}_{rng.label}{output.suffix}")
    return output.with_name(f"{output.name}_{rng.label}")  # a folder of PNG frames (its name may hold dots)


@dataclass(frozen=True)
class RangeWork:
    """The whole video's chunk plan, cut to the chunks that touch a range, in resumable segments.

    Chunk ``k`` owns the range's frames it makes final (:meth:`owned`); the chunks from
    ``first_chunk`` to ``last_chunk`` own every frame of the range once, in order. Frames of the
    range get contributions only from those chunks, so blending just them gives the whole run's values.
    """

    plan: tiling.ChunkPlan
    range: FrameRange
    first_chunk: int
    last_chunk: int
    groups: tuple[tuple[int, int], ...]  # [first, last] chunk of each segment

    @classmethod
    def build(cls, plan: tiling.ChunkPlan, rng: FrameRange, segment_frames: int) -> RangeWork:
        if rng.stop > plan.num_frames:
            raise ValueError(f"frame range ends at {rng.stop}, the video has {plan.num_frames} frames")
        first_chunk = next(k for k in range(len(plan)) if plan[k][1] > rng.first)
        last_chunk = max(k for k in range(len(plan)) if plan[k][0] < rng.stop)
        work = cls(plan, rng, first_chunk, last_chunk, ())
        groups, start, frames = [], first_chunk, 0
        for k in range(first_chunk, last_chunk + 1):
            low, high = work.owned(k)
            frames += high - low
            if frames >= segment_frames or k == last_chunk:
                groups.append((start, k))
                start, frames = k + 1, 0
        return cls(plan, rng, first_chunk, last_chunk, tuple(groups))

    def owned(self, k: int) -> tuple[int, int]:
        """Source frames ``[low, high)`` of the range that chunk ``k`` makes final (may be empty)."""
        low = self.plan.final_before(k - 1) if k else 0
        high = self.plan.final_before(k)
        low, high = max(low, self.range.first), min(high, self.range.stop)
        return low, max(low, high)

    def frames_before(self, g: int) -> int:
        """Output frames written by the segments before segment ``g`` (its first frame's number)."""
        return self.owned(self.groups[g][0])[0] - self.range.first if g < len(self.groups) else self.range.count

    def frames_in(self, segments: set[int]) -> int:
        """Output frames of these segments together (finished ones, for progress)."""
        return sum(self.frames_before(g + 1) - self.frames_before(g) for g in segments)

    def replay_from(self, g: int) -> int:
        """First chunk to run to continue at segment ``g``: earlier ones only reach frames already written."""
        return max(self.first_chunk, workfolder.first_contributor(self.plan, self.groups[g][0]))
