"""mux(): join encoded segments and carry the source's audio, subtitles, chapters and metadata."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from . import cutting
from .ffmpeg import VideoError, _arg, _base_cmd, _exit_reason, _last_error
from .info import VideoInfo
from .probing import probe
from .reading import check_timing
from .timing import concat_durations, is_timed
from .writing import MUX_CONTAINERS, _atomic_temp, _publish, output_sar

log = logging.getLogger(__name__)

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
    frames: tuple[int, int] | None = None,
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

    A source with timestamps (variable frame rate, see video.timing) needs segments written with
    them (NUT keeps them exactly); each segment is then placed at its first frame's input time.

    ``frames=(first, stop)``: the segments hold only those frames of ``source``; its audio, subtitles
    and chapters are cut to them (see :mod:`.cutting`; the audio is re-encoded to cut it to the sample).

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
    check_timing(source)
    timed = is_timed(source)
    segs = [Path(s) for s in segments]
    infos = [probe(s) for s in segs]
    first = infos[0]
    for s, i in zip(segs, infos, strict=True):
        if (i.codec, i.width, i.height, i.pix_fmt) != (first.codec, first.width, first.height, first.pix_fmt):
            raise VideoError(s, f"segment differs from {segs[0].name} ({i.codec} {i.width}x{i.height} {i.pix_fmt})")
        if i.fps != source.fps and not timed:
            raise VideoError(s, f"segment frame rate {i.fps} differs from the source's {source.fps}")
    ok = _VIDEO_OK.get(container)
    if ok is not None and first.codec not in ok:
        raise VideoError(out, f"{container} cannot hold {first.codec} video (use .mkv)")
    total = sum(i.frame_count for i in infos)
    expected = source.frame_count if frames is None else frames[1] - frames[0]
    if total != expected:
        warn(f"{out}: segments hold {total} frames, the source {expected}; "
             "audio will not line up at the end")

    if timed:
        durations = concat_durations(source, [i.frame_count for i in infos], frames[0] if frames else 0)
    else:
        durations = [_fmt_seconds(Fraction(i.frame_count) / source.fps) for i in infos]
    lines = ["ffconcat version 1.0"]
    for s, d in zip(segs, durations, strict=True):
        lines += [f"file '{_concat_path(s)}'", f"duration {d}"]
    listing = ("\n".join(lines) + "\n").encode()

    cmd = [*_base_cmd(), "-y"]
    if source.rotation:
        cmd += ["-display_rotation:v:0", str((-source.rotation) % 360)]
    offset = source.video_start - source.start_time
    if frames is None and not source.is_image_folder and abs(offset) > 1e-6:
        cmd += ["-itsoffset", _fmt_seconds(offset)]
    cmd += ["-protocol_whitelist", "file,pipe", "-f", "concat", "-safe", "0", "-i", "pipe:0"]
    use_source = not source.is_image_folder and Path(source.path).is_file()
    if use_source:
        cmd += [*(cutting.source_input_args(source, frames[0]) if frames else []), "-i", _arg(source.path)]
    cmd += ["-map", "0:v:0", "-c:v", "copy"]
    na = ns = 0
    if use_source:
        for s in source.streams:
            if s.kind == "audio" and keep_audio:
                cmd += ["-map", f"1:{s.index}"]
                allowed = _AUDIO_COPY.get(container)
                if frames is not None:
                    default = ("libopus", "160k") if container == "webm" else ("aac", "256k")
                    length = cutting.range_seconds(source, *frames)[1]
                    cmd += cutting.audio_args(na, s.codec, allowed, default, length)
                elif allowed is None or s.codec in allowed:
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
                if frames is not None:
                    cmd += cutting.subtitle_args(ns)
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
    if frames is not None:
        cmd += cutting.output_args(cutting.range_seconds(source, *frames)[1])
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
