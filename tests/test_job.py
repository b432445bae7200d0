"""The upscaling engine end to end: real ffmpeg streams, real model, resume, cancel."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from fsutil import tmpfs

from vrt_engine import tiling, video
from vrt_engine.job import Cancelled, CancelToken, Failed, Finished, Job, JobRunner, JobSettings, Progress, run_job


def _stream_md5(path: Path, selector: str) -> str:
    """MD5 of the packets of one stream type, copied without decoding."""
    out = subprocess.run(
        [video.ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", f"0:{selector}", "-c", "copy", "-f", "md5", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _decoded_frames(path: Path) -> np.ndarray:
    return np.stack(list(video.read_frames(path)))


def test_bicubic_job_keeps_length_rate_audio_and_subtitles(small_clip, tmp_path):
    out = tmp_path / "out.mp4"
    event = run_job(Job(small_clip, out, JobSettings(model="bicubic")))
    assert isinstance(event, Finished), event
    src, dst = video.probe(small_clip), video.probe(out)
    assert (dst.width, dst.height) == (4 * src.width, 4 * src.height)
    assert dst.frame_count == src.frame_count
    assert dst.fps == src.fps
    assert abs(dst.duration - src.duration) < 1.0 / float(src.fps) + 1e-3
    assert dst.audio_streams == 1 and dst.subtitle_streams == 1
    assert _stream_md5(out, "a") == _stream_md5(small_clip, "a")  # audio copied bit for bit
    assert not any(p.name.endswith(".vrt-work") for p in tmp_path.iterdir())  # work folder cleaned up


def test_whole_clip_through_runner_equals_one_untiled_forward(micro_ckpt):
    ms = pytest.importorskip("mindspore")
    from vrt_engine import load_model
    from vrt_engine.runner import Runner, RunnerSettings

    rng = np.random.default_rng(0)
    frames = rng.random((4, 64, 64, 3), dtype=np.float32)
    runner = Runner(micro_ckpt, "cpu", RunnerSettings(tile_overlap=16, graph=False))
    plan = tiling.ChunkPlan(4, 4, 0)
    expected = load_model(micro_ckpt)(ms.Tensor(frames.transpose(0, 3, 1, 2)[None])).asnumpy()[0]
    for tile in (0, 64):  # no tiling, and one tile that covers the frame
        out = runner.upscale(frames, tile, plan)
        np.testing.assert_array_equal(out, expected.transpose(0, 2, 3, 1))


def test_tiled_and_chunked_micro_job_runs_and_resumes_after_cancel_identically(micro_ckpt, small_clip, tmp_path):
    settings = dict(
        model=str(micro_ckpt), device="cpu", chunk=6, chunk_overlap=2, tile=0, graph=False, segment_frames=4
    )
    full = tmp_path / "full.mkv"
    runner = JobRunner()
    assert isinstance(runner.run(Job(small_clip, full, JobSettings(codec="ffv1", **settings))), Finished)

    resumed = tmp_path / "resumed.mkv"
    token = CancelToken()
    job = Job(small_clip, resumed, JobSettings(codec="ffv1", **settings))

    def cancel_after_first_progress(event):
        if isinstance(event, Progress) and event.frames_done >= 4:
            token.cancel()

    first = runner.run(job, cancel_after_first_progress, token)
    assert isinstance(first, Cancelled) and first.resumable
    assert not resumed.exists()  # no partial output
    logs = []
    second = runner.run(job, lambda e: logs.append(getattr(e, "text", "")))
    assert isinstance(second, Finished)
    assert any("resuming" in line for line in logs)
    np.testing.assert_array_equal(_decoded_frames(resumed), _decoded_frames(full))
    assert resumed.read_bytes() == full.read_bytes()


def test_resume_after_kill_9_gives_the_same_file(tmp_path):
    clip = video.make_test_clip(tmp_path / "long.mp4", 320, 240, 150, audio=True)
    reference = tmp_path / "reference.mp4"
    args = ["--model", "bicubic", "--chunk", "10", "--segment-frames", "20", "--preset", "veryfast"]
    cmd = ["python", "-m", "vrt_engine.cli", "upscale", str(clip)]
    import sys

    cmd[0] = sys.executable
    subprocess.run([*cmd, str(reference), *args], check=True, capture_output=True)

    killed = tmp_path / "killed.mp4"
    work = tmp_path / f".{killed.name}.vrt-work"
    proc = subprocess.Popen([*cmd, str(killed), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(work.glob("seg_*.mkv"))) < 2 and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait()
    segments_before = len(list(work.glob("seg_*.mkv")))
    assert segments_before >= 2, "the run finished before it could be killed"
    assert not killed.exists()
    result = subprocess.run([*cmd, str(killed), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout + result.stderr
    assert killed.read_bytes() == reference.read_bytes()
    assert not work.exists()


def test_refuses_to_overwrite_and_never_touches_the_input(small_clip, tmp_path):
    before = small_clip.read_bytes()
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"keep me")
    event = run_job(Job(small_clip, out, JobSettings(model="bicubic")))
    assert isinstance(event, Failed) and "already exists" in event.reason
    assert out.read_bytes() == b"keep me"
    event = run_job(Job(small_clip, small_clip, JobSettings(model="bicubic", overwrite=True)))
    assert isinstance(event, Failed) and "overwrite the input" in event.reason
    assert small_clip.read_bytes() == before


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "not a video"),
    ],
)
def test_bad_inputs_fail_with_one_line(tmp_path, make, expected):
    src = make(tmp_path)
    event = run_job(Job(src, tmp_path / "out.mp4", JobSettings(model="bicubic")))
    assert isinstance(event, Failed)
    assert expected in event.reason and str(src.name) in event.reason and "\n" not in event.reason
    assert not (tmp_path / "out.mp4").exists()


def test_truncated_input_fails_and_leaves_nothing(small_clip, tmp_path):
    cut = tmp_path / "cut.mp4"
    data = small_clip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    event = run_job(Job(cut, tmp_path / "out.mp4", JobSettings(model="bicubic")))
    assert isinstance(event, Failed) and "cut.mp4" in event.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]


def test_read_only_output_folder(small_clip, tmp_path):
    with tmpfs(tmp_path / "ro", "64k", read_only=True) as folder:
        event = run_job(Job(small_clip, folder / "out.mp4", JobSettings(model="bicubic")))
        assert isinstance(event, Failed) and "ro" in event.reason and "\n" not in event.reason
        assert list(folder.iterdir()) == []


def test_full_disk_fails_cleanly_and_keeps_nothing_partial(small_clip, tmp_path):
    with tmpfs(tmp_path / "small", "96k") as folder:
        out = folder / "out.mp4"
        event = run_job(Job(small_clip, out, JobSettings(model="bicubic", codec="ffv1")))
        assert isinstance(event, Failed), event
        assert "space" in event.reason.lower() or "small" in event.reason
        assert not out.exists()
        leftovers = [p for p in folder.rglob("*") if p.is_file() and p.name != "job.json"]
        assert leftovers == [] or all(p.name.startswith("seg_") for p in leftovers)  # only finished segments


def test_bad_model_file_fails_with_one_line(small_clip, tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00garbage" * 10)
    event = run_job(Job(small_clip, tmp_path / "out.mp4", JobSettings(model=str(bad))))
    assert isinstance(event, Failed) and "bad.ckpt" in event.reason and "\n" not in event.reason
