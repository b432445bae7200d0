"""vrt_engine.video.probing (and the VideoInfo it returns) against the real ffmpeg, on tiny clips made here."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest
from clips import (
    NTSC,
    assert_one_line,
    ffmpeg,
    make_test_clip,
)

from vrt_engine import video
from vrt_engine.video import ColorTags, VideoError, probe, read_frames


@pytest.mark.parametrize(
    ("name", "fps", "frames", "audio", "subs", "chapters"),
    [
        ("mp4_ntsc", NTSC, 30, 1, 2, True),
        ("mp4_25", Fraction(25), 27, 1, 1, False),
        ("mkv_ntsc", NTSC, 31, 2, 1, False),
        ("mkv_25", Fraction(25), 29, 1, 2, True),
    ],
)
def test_probe_counts_streams_and_frames(clips, name, fps, frames, audio, subs, chapters):
    info = probe(clips[name])
    assert (info.width, info.height) == (32, 18)
    assert info.fps == fps
    assert info.frame_count == frames
    assert info.duration == pytest.approx(frames / float(fps), abs=1e-6)
    assert (info.audio_streams, info.subtitle_streams, info.has_chapters) == (audio, subs, chapters)
    assert (info.pix_fmt, info.bit_depth, info.has_alpha, info.is_gray) == ("yuv420p", 8, False, False)
    assert (info.rotation, info.sar, info.is_vfr, info.is_image_folder) == (0, 1, False, False)
    assert [s.language for s in info.streams if s.kind == "audio"][:1] == ["eng"]


@pytest.mark.parametrize("name", ["mp4_ntsc", "mkv_25", "hevc", "ten", "odd"])
def test_frame_count_equals_decoded_frames(clips, name):
    info = probe(clips[name])
    assert info.frame_count == probe(clips[name], exact=True).frame_count
    assert sum(1 for _ in read_frames(clips[name], info)) == info.frame_count


def test_frame_count_skips_edit_list_preroll(clips, tmp_path):
    """A stream-copied cut starts mid-GOP: the pre-roll packets are demuxed but never shown."""
    cut = tmp_path / "cut.mp4"
    r = ffmpeg("-ss", "1.3", "-i", str(clips["long"]), "-c", "copy", str(cut))
    assert r.returncode == 0, r.stderr
    info = probe(cut)
    assert info.frame_count == probe(cut, exact=True).frame_count == sum(1 for _ in read_frames(cut, info))
    assert info.frame_count < 120 - 25


def test_probe_png_folder(clips):
    info = probe(clips["pngs"], folder_fps=Fraction(24))
    assert info.is_image_folder and info.frame_count == 12 and info.fps == 24
    assert (info.width, info.height, info.pix_fmt, info.audio_streams) == (32, 18, "rgb24", 0)
    assert info.duration == pytest.approx(0.5)


def test_untagged_input_guess():
    base = probe_stub(width=640, height=480)
    assert base.effective_matrix == "smpte170m" and base.effective_range == "tv"
    assert probe_stub(width=1920, height=1080).effective_matrix == "bt709"
    assert probe_stub(color_matrix="bt2020nc").effective_matrix == "bt2020nc"
    assert ColorTags.for_output(probe_stub(color_matrix="smpte170m")).matrix == "smpte170m"
    assert ColorTags.for_output(probe_stub()) == ColorTags()


def probe_stub(**changes) -> video.VideoInfo:
    info = video.VideoInfo(
        path=Path("x.mp4"), width=640, height=480, fps=Fraction(25), frame_count=1, duration=0.04,
        pix_fmt="yuv420p", bit_depth=8, has_alpha=False, is_gray=False, rotation=0, sar=Fraction(1),
        color_matrix=None, color_range=None, color_primaries=None, color_transfer=None, audio_streams=0,
        subtitle_streams=0, has_chapters=False, is_vfr=False, is_image_folder=False,
    )
    return dataclasses.replace(info, **changes)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    d = tmp_path_factory.mktemp("bad")
    text = d / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    (d / "empty.mp4").write_bytes(b"")
    halves = {}
    for name, kw in (("moov_at_end.mp4", {}), ("faststart.mp4", {"faststart": True}), ("cut.mkv", {})):
        whole = make_test_clip(d / f"whole_{name}", 32, 18, 50, **kw).read_bytes()
        halves[name] = d / name
        halves[name].write_bytes(whole[: len(whole) // 2])
    make_test_clip(d / "audio.mp4", 32, 18, 5)
    ffmpeg("-i", str(d / "audio.mp4"), "-map", "0:a", "-c", "copy", str(d / "sound.m4a"))
    return {
        "missing": (d / "missing.mp4", "not found"),
        "text": (text, "not a video file"),
        "empty": (d / "empty.mp4", "empty"),
        "truncated_mp4": (halves["moov_at_end.mp4"], "truncated"),
        "truncated_faststart": (halves["faststart.mp4"], "truncated"),
        "truncated_mkv": (halves["cut.mkv"], "truncated"),
        "zero_frames": (make_test_clip(d / "zero.mkv", 32, 18, 0), "no frames"),
        "audio_only": (d / "sound.m4a", "no video stream"),
        "empty_folder": (d, "no PNG frames"),
    }


@pytest.mark.parametrize("case", ["missing", "text", "empty", "truncated_mp4", "truncated_faststart",
                                  "truncated_mkv", "zero_frames", "audio_only", "empty_folder"])
def test_bad_input_gives_one_line_error(bad_files, case):
    path, words = bad_files[case]
    with pytest.raises(VideoError) as e:
        probe(path)
    assert_one_line(e.value, path, words)
    with pytest.raises(VideoError):
        read_frames(path)
