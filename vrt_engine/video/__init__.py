"""Video input and output through the ffmpeg binary shipped by imageio-ffmpeg.

Plain numpy + subprocess: no MindSpore, no Qt, so the UI, the CLI and the tests can all use it.
Frames always travel through pipes as raw RGB (rgb24 or rgb48le); nothing but the requested output
is ever written to disk.

Modules, one job each: ``ffmpeg`` (the binary, VideoError, stderr), ``info`` (VideoInfo, ColorTags),
``banner`` (parsing ``ffmpeg -i``), ``probing`` (probe, packet scans, frame rates), ``reading``
(read_frames), ``fields`` (interlace and telecine detection, deinterlacing filters),
``writing`` (FrameWriter, atomic output), ``muxing`` (mux) and ``timing`` (carrying per-frame timestamps).

Conventions
-----------
* ``VideoInfo.rotation`` is in degrees *clockwise*, like the legacy ``rotate`` tag of phone videos
  (a display matrix that rotates 90 degrees counter-clockwise reads as 270).  Pixels are never
  rotated here; the rotation is carried as metadata into the output by :func:`mux`.
* Variable frame rate input, and input whose timestamps jitter off a constant rate, keep every
  frame's timestamp (``VideoInfo.timestamps``, see :mod:`.timing`): output frame N is shown when
  input frame N was, so audio, subtitles and chapters stay in sync. Constant-rate input keeps its
  exact rate. Only VFR input with untimed packets is refused (:func:`check_timing`).
* Untagged YUV input is decoded with BT.709 when it is HD (width >= 1280 or height >= 720) and
  BT.601 otherwise, limited range: the convention players follow.
"""

from .ffmpeg import VideoError, ffmpeg_exe
from .fields import DEINTERLACE_MODES, FieldCheck, FieldPlan, check_fields, plan_fields
from .info import ColorTags, StreamInfo, VideoInfo
from .muxing import mux
from .probing import probe
from .reading import check_timing, read_frames, vfr_error
from .timing import TIMECODE_FILE, frame_times, is_timed
from .writing import MUX_CONTAINERS, WRITER_CODECS, FrameWriter, output_sar

__all__ = [
    "DEINTERLACE_MODES",
    "MUX_CONTAINERS",
    "TIMECODE_FILE",
    "WRITER_CODECS",
    "ColorTags",
    "FieldCheck",
    "FieldPlan",
    "FrameWriter",
    "StreamInfo",
    "VideoError",
    "VideoInfo",
    "check_fields",
    "check_timing",
    "ffmpeg_exe",
    "frame_times",
    "is_timed",
    "mux",
    "output_sar",
    "plan_fields",
    "probe",
    "read_frames",
    "vfr_error",
]
