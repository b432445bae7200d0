"""ffmpeg arguments that cut the source's audio, subtitles and chapters to a range of its frames.

Used by :func:`mux` when the segments hold frames ``[first, stop)`` of the source, not all of it.
The source is shifted so that frame ``first`` is at time 0 and the output is limited to the range's
length, which drops or clips chapters and subtitle cues as ffmpeg copies them. Audio is cut to the
sample (an ``atrim`` filter), so it is decoded and encoded again; a stream copy can only cut at
packet boundaries, tens of milliseconds off. Subtitle cues that end before the start are dropped and
one that runs into the range is clipped to begin at 0 (bitstream filters: works for copied cues too).
"""

from __future__ import annotations

from fractions import Fraction

from .info import VideoInfo

# Encoders for re-encoding cut audio in its own codec; anything else becomes the container's default.
_ENCODER = {
    "aac": ("aac", "256k"),
    "opus": ("libopus", "160k"),
    "vorbis": ("libvorbis", "192k"),
    "mp3": ("libmp3lame", "320k"),
    "ac3": ("ac3", "448k"),
    "eac3": ("eac3", "448k"),
    "mp2": ("mp2", "384k"),
    "flac": ("flac", None),
    "alac": ("alac", None),
}

# Drop cues that end before 0; clip a cue that starts before 0 to start at 0 (pts in the stream's tb).
_SUBTITLE_BSF = (
    "noise=drop=lte((pts+duration)*tb\\,0),setts=pts=max(PTS\\,0):dts=max(DTS\\,0):duration=DURATION+min(PTS\\,0)"
)


def _seconds(x: Fraction) -> str:
    return f"{float(x):.9f}"


def range_seconds(source: VideoInfo, first: int, stop: int) -> tuple[Fraction, Fraction]:
    """(start, length) of frames ``[first, stop)`` in seconds, the start from the video's first frame.

    Input with carried timestamps (variable frame rate) is measured on its own clock."""
    if source.timestamps is not None:
        ticks = source.timestamps
        tb = Fraction(source.time_base)
        return (int(ticks[first]) - int(ticks[0])) * tb, (int(ticks[stop]) - int(ticks[first])) * tb
    return Fraction(first) / source.fps, Fraction(stop - first) / source.fps


def source_input_args(source: VideoInfo, first: int) -> list[str]:
    """Options before the source's ``-i``: shift it so frame ``first`` is at time 0 (as the output's video)."""
    offset = Fraction(source.video_start - source.start_time).limit_denominator(10**9)
    return ["-itsoffset", _seconds(-(offset + range_seconds(source, first, first)[0]))]


def audio_args(n: int, codec: str, allowed: set[str] | None, default: tuple[str, str], length: Fraction) -> list[str]:
    """Output options of cut audio stream ``n``: trimmed to ``length`` seconds, encoded in its own codec
    when the container takes it (``allowed`` None: any), else with ``default`` (encoder, bit rate)."""
    encoder, rate = _ENCODER.get(codec, (codec, None) if codec.startswith("pcm_") else default)
    if allowed is not None and codec not in allowed:
        encoder, rate = default
    args = [f"-filter:a:{n}", f"atrim=start=0:end={_seconds(length)}", f"-c:a:{n}", encoder]
    return args + ([f"-b:a:{n}", rate] if rate else [])


def subtitle_args(n: int) -> list[str]:
    """Output options of cut subtitle stream ``n`` (the output's ``-t`` drops cues after the end)."""
    return [f"-bsf:s:{n}", _SUBTITLE_BSF]


def output_args(length: Fraction) -> list[str]:
    """Output options: stop at the range's end (chapters past it are dropped, the last one clipped)."""
    return ["-t", _seconds(length)]
