"""vrt_engine.video.muxing against the real ffmpeg of imageio-ffmpeg, on tiny clips made here."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from clips import (
    NTSC,
    assert_one_line,
    make_test_clip,
    packet_md5,
    stream_span,
    write_segments,
)

from vrt_engine.video import VideoError, mux, probe, read_frames


@pytest.mark.parametrize(("name", "suffix"), [("mp4_ntsc", ".mp4"), ("mp4_ntsc", ".mkv"), ("mkv_25", ".mp4"),
                                              ("mkv_ntsc", ".mkv")])
def test_mux_keeps_audio_subtitles_chapters(clips, tmp_path, name, suffix):
    src = probe(clips[name])
    segs = write_segments(src, tmp_path, 10)
    assert len(segs) == -(-src.frame_count // 10)
    out = tmp_path / f"out{suffix}"
    mux(segs, src, out)
    info = probe(out)
    assert (info.width, info.height, info.fps, info.frame_count) == (128, 72, src.fps, src.frame_count)
    assert info.duration == pytest.approx(src.duration, abs=1e-6)
    assert (info.audio_streams, info.subtitle_streams, info.has_chapters) == (
        src.audio_streams, src.subtitle_streams, src.has_chapters)
    langs = [(s.kind, s.language) for s in src.streams if s.kind in ("audio", "subtitle")]
    assert [(s.kind, s.language) for s in info.streams if s.kind in ("audio", "subtitle")] == langs
    for k in range(src.audio_streams):
        assert packet_md5(out, f"0:a:{k}") == packet_md5(src.path, f"0:a:{k}")
    if src.path.suffix == suffix:  # same container: subtitles are copied untouched
        for k in range(src.subtitle_streams):
            assert packet_md5(out, f"0:s:{k}") == packet_md5(src.path, f"0:s:{k}")
    else:
        want = "subrip" if suffix == ".mkv" else "mov_text"
        assert {s.codec for s in info.streams if s.kind == "subtitle"} == {want}
    # the video is the segments' packets, unchanged
    joined = b"".join(np.stack(list(read_frames(s))).tobytes() for s in segs)
    assert np.stack(list(read_frames(out))).tobytes() == joined


def test_mux_carries_rotation_sar_and_start_offset(clips, tmp_path):
    src = probe(clips["rotated"])
    assert (src.rotation, src.sar) == (90, Fraction(4, 3))
    offset = src.video_start - src.start_time
    assert offset > 0.1  # the clip's video starts after its audio
    for sar, suffix in ((None, ".mp4"), (Fraction(1), ".mkv")):  # the second one: mux must fix the SAR
        folder = tmp_path / suffix[1:]
        folder.mkdir()
        segs = write_segments(src, folder, 8, sar=sar)
        out = tmp_path / f"out{suffix}"
        mux(segs, src, out)
        info = probe(out)
        assert (info.rotation, info.sar, info.frame_count) == (90, Fraction(4, 3), src.frame_count)
        assert info.video_start - info.start_time == pytest.approx(offset, abs=0.002)
        assert packet_md5(out, "0:a:0") == packet_md5(src.path, "0:a:0")


def test_mux_can_leave_out_audio_and_subtitles(clips, tmp_path):
    src = probe(clips["mkv_25"])
    segs = write_segments(src, tmp_path, 100, scale=False)
    mux(segs, src, tmp_path / "out.mp4", keep_audio=False, keep_subtitles=False, keep_chapters=False)
    info = probe(tmp_path / "out.mp4")
    assert (info.audio_streams, info.subtitle_streams, info.has_chapters) == (0, 0, False)
    assert info.frame_count == src.frame_count


def test_mux_webm_reencodes_audio(clips, tmp_path):
    src = probe(clips["mp4_25"])
    segs = write_segments(src, tmp_path, 100, suffix=".webm", codec="vp9", scale=False)
    mux(segs, src, tmp_path / "out.webm")
    info = probe(tmp_path / "out.webm")
    assert [s.codec for s in info.streams] == ["vp9", "opus", "webvtt"]
    assert info.frame_count == src.frame_count
    (tmp_path / "h264").mkdir()
    h264 = write_segments(src, tmp_path / "h264", 100, scale=False)
    with pytest.raises(VideoError) as e:
        mux(h264, src, tmp_path / "bad.webm")
    assert_one_line(e.value, tmp_path / "bad.webm", "webm cannot hold h264")


@pytest.mark.slow
def test_long_clip_audio_and_video_end_together(tmp_path):
    """Ten minutes at 24000/1001 fps in 2000-frame Matroska segments (millisecond timestamps, as
    the job writes them): no drift between audio and video in mp4 or mkv output."""
    frames = int(600 * NTSC)
    src_path = make_test_clip(tmp_path / "long.mp4", 32, 18, frames, fps=NTSC, sample_rate=16000,
                              audio_codec="libmp3lame")
    src = probe(src_path)
    assert src.frame_count == frames
    segs = write_segments(src, tmp_path, 2000, scale=False, suffix=".mkv")
    frame = 1 / float(NTSC)
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        mux(segs, src, out)
        info = probe(out)
        assert (info.frame_count, info.fps, info.is_vfr) == (frames, NTSC, False)
        v0, v1 = stream_span(out, "0:v:0")
        a0, a1 = stream_span(out, "0:a:0")
        sv0, sv1 = stream_span(src_path, "0:v:0")
        sa0, sa1 = stream_span(src_path, "0:a:0")
        assert v1 - v0 == pytest.approx(sv1 - sv0, abs=frame)
        assert (v1 - a1) == pytest.approx(sv1 - sa1, abs=frame)
        assert (v0 - a0) == pytest.approx(sv0 - sa0, abs=frame)


def test_mux_output_appears_only_when_complete(clips, tmp_path, monkeypatch):
    src = probe(clips["mp4_25"])
    segs = write_segments(src, tmp_path, 100, scale=False)
    out = tmp_path / "final.mkv"
    out.write_bytes(b"previous")
    real_run = subprocess.run
    seen = []

    def spy(cmd, *args, **kwargs):
        if "concat" in cmd:
            seen.append((out.read_bytes(), Path(cmd[-1]).parent == out.parent))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)  # the subprocess module muxing calls
    mux(segs, src, out)
    assert seen == [(b"previous", True)]
    assert probe(out).frame_count == src.frame_count
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.mkv", segs[0].name]
