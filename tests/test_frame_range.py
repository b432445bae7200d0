"""Part of a video: positions, ranges, the cut plan, and a range's output against a whole-video run."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from clips import NTSC, ffmpeg, make_test_clip, stream_span

from vrt_engine import tiling, video
from vrt_engine.frame_range import FrameRange, RangeSpec, RangeWork, parse_position, with_range_suffix
from vrt_engine.job import Cancelled, CancelToken, Finished, Job, JobRunner, JobSettings, Progress


@pytest.mark.parametrize(
    ("text", "fps", "frame"),
    [
        ("f40", Fraction(25), 40),
        ("10", Fraction(25), 250),
        ("1.6", Fraction(25), 40),
        ("1:30", Fraction(25), 2250),
        ("0:01:30.04", Fraction(25), 2251),
        ("1:00:00", Fraction(25), 90000),
        ("10", NTSC, 240),  # 239.76: the first frame shown at or after 10 s
        ("0:00:01.001", Fraction(30000, 1001), 30),  # exact arithmetic, no float rounding
    ],
)
def test_positions_are_times_or_f_frames(text, fps, frame):
    assert parse_position(text, "--start").frames(fps) == frame


@pytest.mark.parametrize("text", ["abc", "1:75", "1:60:00", "-3", "f", "12f", "1::2"])
def test_a_bad_position_is_one_line_naming_the_option(text):
    with pytest.raises(ValueError) as err:
        parse_position(text, "--end")
    assert str(err.value).startswith("--end: ") and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("spec", "option"),
    [
        (RangeSpec(start="f100"), "--start"),
        (RangeSpec(start="4"), "--start"),
        (RangeSpec(start="f10", end="f5"), "--end"),
        (RangeSpec(start="f10", end="f10"), "--end"),
        (RangeSpec(end="f101"), "--end"),
        (RangeSpec(start="f90", duration="f11"), "--duration"),
        (RangeSpec(start="f90", duration="0"), "--duration"),
        (RangeSpec(end="f20", duration="f5"), "--duration"),
        (RangeSpec(end="0"), "--end 0 is not after the first frame"),
    ],
)
def test_a_range_outside_the_video_or_ending_before_its_start_names_the_option(spec, option):
    with pytest.raises(ValueError) as err:
        spec.resolve(Fraction(25), 100, "in.mp4")
    text = str(err.value)
    assert option in text and "\n" not in text, text


def test_ranges_resolve_to_frames():
    assert RangeSpec().resolve(Fraction(25), 100, "x") is None
    assert RangeSpec(start="f40", end="f80").resolve(Fraction(25), 100, "x") == FrameRange(40, 80)
    assert RangeSpec(start="1.6", duration="1.6").resolve(Fraction(25), 100, "x") == FrameRange(40, 80)
    assert RangeSpec(start="f40").resolve(Fraction(25), 100, "x") == FrameRange(40, 100)
    assert RangeSpec(end="2").resolve(Fraction(25), 100, "x") == FrameRange(0, 50)
    assert with_range_suffix(Path("/o/a_x4.mp4"), FrameRange(40, 80)) == Path("/o/a_x4_f40-79.mp4")
    assert with_range_suffix(Path("/o/my.clip_x4"), FrameRange(0, 5)) == Path("/o/my.clip_x4_f0-4")  # PNG folder
    assert with_range_suffix(Path("/o/a_x4.mkv"), None) == Path("/o/a_x4.mkv")


@pytest.mark.parametrize(("frames", "chunk", "overlap"), [(100, 10, 2), (100, 7, 3), (37, 6, 2), (20, 0, 0)])
def test_the_range_plan_owns_every_frame_once_and_needs_no_chunk_outside_it(frames, chunk, overlap):
    plan = tiling.ChunkPlan(frames, chunk, overlap)
    for first, stop in [(0, frames), (3, 4), (frames // 3, frames - 5), (frames - 1, frames), (0, 1)]:
        work = RangeWork.build(plan, FrameRange(first, stop), 9)
        owned = [f for k in range(work.first_chunk, work.last_chunk + 1) for f in range(*work.owned(k))]
        assert owned == list(range(first, stop))
        # every chunk that holds a frame of the range is run, and no other
        touching = [k for k, (a, b) in enumerate(plan) if a < stop and b > first]
        assert touching == list(range(work.first_chunk, work.last_chunk + 1))
        assert work.groups[0][0] == work.first_chunk and work.groups[-1][1] == work.last_chunk
        assert [work.frames_before(g) for g in range(len(work.groups) + 1)][-1] == stop - first


def _frames(path: Path) -> np.ndarray:
    return np.stack(list(video.read_frames(path)))


@pytest.fixture(scope="module")
def clip_100(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("range")
    return make_test_clip(
        folder / "clip.mkv",
        32,
        24,
        100,
        fps=Fraction(25),
        audio=True,
        subtitles=True,
        chapters=True,
        codec="ffv1",
        pix_fmt="yuv444p",
    )


@pytest.mark.slow
def test_frames_40_to_79_alone_equal_those_of_the_whole_run_with_the_temporal_model(micro_ckpt, clip_100, tmp_path):
    """The micro VRT in chunks of 10 (overlap 2): chunk boundaries and the frames around the range change
    every output frame, so only the whole video's plan with its context gives the same values."""
    base = dict(
        model=str(micro_ckpt),
        device="cpu",
        chunk=10,
        chunk_overlap=2,
        tile=0,
        graph=False,
        codec="ffv1",
        segment_frames=16,
    )
    runner = JobRunner()
    whole = tmp_path / "whole.mkv"
    assert isinstance(runner.run(Job(clip_100, whole, JobSettings(**base))), Finished)
    part = tmp_path / "part.mkv"
    progress: list[Progress] = []
    event = runner.run(
        Job(clip_100, part, JobSettings(start="f40", end="f80", **base)),
        lambda e: progress.append(e) if isinstance(e, Progress) else None,
    )
    assert isinstance(event, Finished) and event.frames == 40
    assert progress[-1].frames_done == progress[-1].frames_total == 40
    got, expected = _frames(part), _frames(whole)[40:80]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)

    # without the context (the 40 frames cut out first, then upscaled whole) the frames differ
    cut = tmp_path / "cut.mkv"
    r = ffmpeg(
        "-i",
        str(clip_100),
        "-vf",
        "select=between(n\\,40\\,79)",
        "-fps_mode",
        "passthrough",
        "-an",
        "-sn",
        "-c:v",
        "ffv1",
        str(cut),
    )
    assert r.returncode == 0, r.stderr
    alone = tmp_path / "alone.mkv"
    assert isinstance(runner.run(Job(cut, alone, JobSettings(**base))), Finished)
    assert not np.array_equal(_frames(alone), expected)


def _pcm(path: Path) -> np.ndarray:
    out = subprocess.run(
        [video.ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, np.int16)


def _chapters(path: Path) -> list[tuple[float, float, str]]:
    text = ffmpeg("-i", str(path), "-f", "ffmetadata", "-").stdout
    chapters, cur = [], {}
    for line in text.splitlines():
        if line == "[CHAPTER]":
            cur = {}
            chapters.append(cur)
        elif "=" in line and chapters:
            key, value = line.split("=", 1)
            cur[key] = value
    return [
        (int(c["START"]) * Fraction(c["TIMEBASE"]), int(c["END"]) * Fraction(c["TIMEBASE"]), c["title"])
        for c in chapters
    ]


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_cut_audio_subtitles_and_chapters_start_and_end_with_the_range(clip_100, tmp_path, suffix):
    """Frames 40-79 are 1.6 s to 3.2 s: the sound is the source's from 1.6 s for exactly 1.6 s (to the
    sample), cues before the range are gone and the chapters are moved and clipped."""
    out = tmp_path / f"part{suffix}"
    settings = JobSettings(model="bicubic", start="1.6", duration="1.6", codec="h264", preset="ultrafast")
    assert isinstance(JobRunner().run(Job(clip_100, out, settings)), Finished)
    info = video.probe(out)
    assert info.frame_count == 40
    v0, v1 = stream_span(out, "0:v:0")
    assert abs(v0) < 1e-3 and abs(v1 - 1.6) < 1e-3
    pcm, source = _pcm(out), _pcm(clip_100)
    assert len(pcm) == 1.6 * 48000
    # the same sine, in phase: the cut begins at the source's sample 1.6 * 48000 (AAC is lossy: compare loosely)
    start = int(1.6 * 48000)
    ref = source[start : start + len(pcm)].astype(float)
    corr = [np.corrcoef(pcm[2000:20000], ref[2000 + lag : 20000 + lag])[0, 1] for lag in range(-3, 4)]
    assert int(np.argmax(corr)) == 3 and corr[3] > 0.99, corr
    cues = ffmpeg("-i", str(out), "-map", "0:s:0", "-f", "srt", "-").stdout
    assert "Cue 1 " not in cues and "Cue 2 " in cues and cues.startswith("1\n00:00:00,000 --> 00:00:00,")
    assert _chapters(out) == [(0, Fraction(2, 5), "One"), (Fraction(2, 5), Fraction(8, 5), "Two")]


def test_a_range_resumes_after_cancel_to_the_same_file(clip_100, tmp_path):
    settings = JobSettings(model="bicubic", start="f30", end="f90", chunk=8, segment_frames=10, codec="ffv1")
    reference = tmp_path / "reference.mkv"
    runner = JobRunner()
    assert isinstance(runner.run(Job(clip_100, reference, settings)), Finished)
    out = tmp_path / "resumed.mkv"
    token = CancelToken()

    def cancel(event):
        if isinstance(event, Progress) and event.frames_done >= 25:
            token.cancel()

    assert isinstance(runner.run(Job(clip_100, out, settings), cancel, token), Cancelled)
    logs: list[str] = []
    assert isinstance(runner.run(Job(clip_100, out, settings), lambda e: logs.append(getattr(e, "text", ""))), Finished)
    assert any("resuming" in line for line in logs)
    assert out.read_bytes() == reference.read_bytes()
    # another range in the same work folder is other work: discarded, saying the range changed
    again = tmp_path / "again.mkv"
    other = JobSettings(model="bicubic", start="f31", end="f90", chunk=8, segment_frames=10, codec="ffv1")
    token = CancelToken()
    assert isinstance(runner.run(Job(clip_100, again, other), cancel, token), Cancelled)
    warnings: list[str] = []
    assert isinstance(
        runner.run(Job(clip_100, again, settings), lambda e: warnings.append(getattr(e, "text", ""))), Finished
    )
    assert any("range changed" in line for line in warnings), warnings
    assert again.read_bytes() == reference.read_bytes()
