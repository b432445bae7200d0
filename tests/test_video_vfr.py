"""Variable frame rate and jittering timestamps: every frame keeps its time from input to output.

Clips are made here by the bundled ffmpeg with a ``setpts`` expression; what is asserted is read
back from the output files (packet timestamps, audio packets, decoded frames)."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from clips import NTSC, frame_pts, make_test_clip, packet_md5, stream_span

from vrt_engine import video
from vrt_engine.cli_upscale import upscale_parser
from vrt_engine.job import Cancelled, CancelToken, Finished, Job, JobSettings, LogLine, Progress, run_job
from vrt_engine.runner import bicubic_upscale

MS = 1e-3
THIRTY_THEN_TWELVE = "if(lt(N,30),N/30,1+(N-30)/12)"  # 1 s at 30 fps, then 12 fps
JITTER = "N/30+0.001*(mod(N*7,3)-1)"  # 30 fps, each frame -1, 0 or +1 ms off
BICUBIC = dict(model="bicubic", preset="ultrafast", chunk=4, segment_frames=7)  # several segments


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("vfr")
    return make_test_clip(folder / "vfr.mp4", 32, 18, 54, fps=Fraction(30), pts=THIRTY_THEN_TWELVE, seconds=3.0,
                          subtitles=True, chapters=True)


def _decoded(path: Path) -> np.ndarray:
    return np.stack(list(video.read_frames(path)))


def _assert_same_frames_in_order(src: Path, out: Path) -> None:
    """Output frame N is the upscale of input frame N (not a neighbour: no frame dropped or doubled)."""
    lq, hq = _decoded(src), _decoded(out).astype(np.float64)
    ref = np.stack([bicubic_upscale(f, 4) for f in lq]).astype(np.float64)
    assert len(hq) == len(ref)
    for n in range(len(hq)):
        near = range(max(0, n - 1), min(len(ref), n + 2))
        assert min(near, key=lambda j: np.abs(hq[n] - ref[j]).mean()) == n, n


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_vfr_job_keeps_every_frame_time_audio_and_subtitles(vfr_clip, tmp_path, suffix):
    info = video.probe(vfr_clip)
    assert info.is_vfr and info.timestamps is not None
    out = tmp_path / f"out{suffix}"
    events: list = []
    assert isinstance(run_job(Job(vfr_clip, out, JobSettings(**BICUBIC)), events.append), Finished)
    assert any("variable frame rate" in e.text for e in events if isinstance(e, LogLine))
    want, got = frame_pts(vfr_clip), frame_pts(out)
    assert len(got) == len(want) == 54
    assert np.abs(got - want).max() <= 1 * MS  # mp4 keeps the ticks exactly, Matroska rounds to 1 ms
    if suffix == ".mp4":
        assert np.array_equal(got, want)
        assert packet_md5(out, "0:a") == packet_md5(vfr_clip, "0:a")  # audio copied untouched
    assert stream_span(out, "0:a") == pytest.approx(stream_span(vfr_clip, "0:a"), abs=1 * MS)
    dst = video.probe(out)
    assert dst.subtitle_streams == 1 and dst.has_chapters
    _assert_same_frames_in_order(vfr_clip, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no work folder, no filter scripts


def test_jittery_thirty_fps_clip_simply_works_with_its_own_timestamps(tmp_path):
    clip = make_test_clip(tmp_path / "phone.mp4", 32, 18, 60, fps=Fraction(30), pts=JITTER, seconds=2.0)
    info = video.probe(clip)
    assert not info.is_vfr and info.fps == 30  # not "VFR" to the user ...
    assert info.timestamps is not None  # ... but its timing is carried, not snapped
    out = tmp_path / "phone_x4.mp4"
    assert isinstance(run_job(Job(clip, out, JobSettings(**BICUBIC))), Finished)
    want, got = frame_pts(clip), frame_pts(out)
    assert len(got) == 60 and np.abs(got - want).max() <= 1 * MS
    assert np.ptp(np.diff(want)) > 1 * MS  # the input really jitters (a constant-rate output would be off)
    assert stream_span(out, "0:a") == pytest.approx(stream_span(clip, "0:a"), abs=1 * MS)


def test_constant_rate_inputs_keep_their_exact_rate(clips):
    for key in ("mp4_ntsc", "mkv_ntsc", "mkv_25", "pngs"):  # Matroska's 1 ms rounding is not jitter
        info = video.probe(clips[key])
        assert info.timestamps is None and not video.is_timed(info), key
    assert video.probe(clips["mkv_ntsc"]).fps == NTSC
    assert video.frame_times(video.probe(clips["mp4_ntsc"]))[3] == pytest.approx(3 / float(NTSC))


def test_vfr_resume_after_cancel_gives_the_same_file(vfr_clip, tmp_path):
    settings = JobSettings(**{**BICUBIC, "codec": "h264"})
    whole = tmp_path / "whole.mp4"
    assert isinstance(run_job(Job(vfr_clip, whole, settings)), Finished)
    out = tmp_path / "resumed.mp4"
    token = CancelToken()

    def cancel_late(event):
        if isinstance(event, Progress) and event.frames_done >= 30:  # inside the 12 fps part
            token.cancel()

    assert isinstance(run_job(Job(vfr_clip, out, settings), cancel_late, token), Cancelled)
    work = Job(vfr_clip, out, settings).work_dir
    assert sorted(p.name for p in work.iterdir() if p.suffix == ".nut")[:2] == ["seg_00000.nut", "seg_00001.nut"]
    events: list = []
    assert isinstance(run_job(Job(vfr_clip, out, settings), events.append), Finished)
    assert any(isinstance(e, LogLine) and e.text.startswith("resuming:") for e in events)
    assert out.read_bytes() == whole.read_bytes()


def test_png_output_of_vfr_input_has_a_timecode_file(vfr_clip, tmp_path):
    out = tmp_path / "frames"
    assert isinstance(run_job(Job(vfr_clip, out, JobSettings(**{**BICUBIC, "codec": "png"}))), Finished)
    assert sorted(p.name for p in out.iterdir()) == [f"{i:08d}.png" for i in range(54)] + [video.TIMECODE_FILE]
    lines = (out / video.TIMECODE_FILE).read_text().splitlines()
    assert lines[0] == "# timestamp format v2"
    ms = np.array([float(x) for x in lines[1:]])
    assert np.abs(ms / 1000 - frame_pts(vfr_clip)).max() < 1e-6  # each frame's time as the input stores it
    assert len(video.probe(out).timestamps or ()) == 0  # the folder itself reads as plain frames


def test_truncated_vfr_input_is_one_line_and_nothing_changes(vfr_clip, tmp_path):
    cut = tmp_path / "cut.mp4"
    data = vfr_clip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    result = subprocess.run([sys.executable, "-m", "vrt_engine.cli", "upscale", str(cut), "--model", "bicubic"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vrt-upscale: error: ") and "cut.mp4" in lines[0], result.stderr
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_help_says_what_happens_to_variable_frame_rate():
    text = " ".join(upscale_parser().format_help().split()).lower()
    assert "variable frame rate" in text and "timestamp" in text and "timestamps.txt" in text


@pytest.mark.slow
def test_twenty_one_minutes_of_vfr_end_with_audio_and_video_together(tmp_path):
    """2 fps for 30 s, then 5 fps for 30 s, for 21 minutes (4410 frames of 16x16, sine audio)."""
    frames, seconds = 21 * 210, 21 * 60.0
    pts = "60*floor(N/210)+if(lt(mod(N,210),60),mod(N,210)/2,30+(mod(N,210)-60)/5)"
    src = make_test_clip(tmp_path / "long.mp4", 16, 16, frames, fps=Fraction(5), pts=pts, seconds=seconds,
                         sample_rate=8000)
    out = tmp_path / "long_x4.mp4"
    result = subprocess.run([sys.executable, "-m", "vrt_engine.cli", "upscale", str(src), str(out),
                             "--model", "bicubic", "--preset", "ultrafast", "--segment-frames", "600"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    want, got = frame_pts(src), frame_pts(out)
    assert len(got) == frames and np.abs(got - want).max() <= 1 * MS
    (_, a1), (_, sa1) = stream_span(out, "0:a"), stream_span(src, "0:a")
    assert a1 == pytest.approx(sa1, abs=1 * MS)
    assert got[-1] + 0.2 == pytest.approx(a1, abs=0.2)  # the last 5 fps frame ends with the sound
    assert got[-1] == pytest.approx(seconds - 0.2, abs=1 * MS)
