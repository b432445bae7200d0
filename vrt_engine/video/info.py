"""What a probe tells about a video (VideoInfo, StreamInfo) and the colour tags an output carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

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
    # Timing to carry through (see video.timing): set when the frames are off any constant-rate grid
    # (variable frame rate, or timestamps that jitter). ``frame_count + 1`` ticks of ``time_base``:
    # each frame's presentation time in order, then the end of the last frame. None: constant rate.
    time_base: Fraction = Fraction(1, 1000)
    timestamps: np.ndarray | None = field(default=None, compare=False, repr=False)
    # Every frame's presentation timestamp in ``time_base`` ticks, in order, as the container stores it
    # (set for files whose packets all carry one): lets a read that starts late seek to a keyframe.
    frame_pts: np.ndarray | None = field(default=None, compare=False, repr=False)

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
