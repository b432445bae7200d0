"""The upscaling engine end to end: real ffmpeg streams, real model, resume, cancel."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from clips import make_test_clip
from fsutil import tmpfs

from vrt_engine import tiling, video
from vrt_engine.job import (
    Cancelled,
    CancelToken,
    Failed,
    Finished,
    Job,
    JobRunner,
    JobSettings,
    LogLine,
    Progress,
    preview_frame,
    run_job,
)
from vrt_engine.runner import Runner, RunnerSettings, bicubic_upscale, to_float, to_integer


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
    clip = make_test_clip(tmp_path / "long.mp4", 320, 240, 150, audio=True)
    reference = tmp_path / "reference.mp4"
    args = ["--model", "bicubic", "--chunk", "10", "--segment-frames", "20", "--preset", "veryfast"]
    cmd = ["python", "-m", "vrt_engine.cli", "upscale", str(clip)]
    import sys

    cmd[0] = sys.executable
    subprocess.run([*cmd, str(reference), *args], check=True, capture_output=True)

    killed = tmp_path / "killed.mp4"
    work = tmp_path / f".{killed.name}.vrt-work"
    proc = subprocess.Popen([*cmd, str(killed), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        assert "no space left" in event.reason.lower(), event.reason
        assert event.reason.startswith(f"{out}: "), event.reason  # the file the user asked for, not a segment
        assert "\n" not in event.reason
        assert not out.exists()
        leftovers = [p for p in folder.rglob("*") if p.is_file() and p.name != "job.json"]
        assert leftovers == [] or all(p.name.startswith("seg_") for p in leftovers)  # only finished segments


def test_bad_model_file_fails_with_one_line(small_clip, tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00garbage" * 10)
    event = run_job(Job(small_clip, tmp_path / "out.mp4", JobSettings(model=str(bad))))
    assert isinstance(event, Failed) and "bad.ckpt" in event.reason and "\n" not in event.reason
    assert "Traceback" in event.detail and "WeightsError" in event.detail  # kept for --debug


def _texts(events: list, level: str | None = None) -> list[str]:
    return [e.text for e in events if isinstance(e, LogLine) and (level is None or e.level == level)]


def _cancel_after(token: CancelToken, frames: int):
    def on_event(event):
        if isinstance(event, Progress) and event.frames_done >= frames:
            token.cancel()

    return on_event


class NearestRunner(Runner):
    """The micro model's runner (its memory model picks the automatic sizes) with a nearest-neighbour
    forward: what these resume tests check does not depend on the network's arithmetic, and it is fast."""

    def _forward(self, clip):
        return np.repeat(np.repeat(clip, self.scale, axis=-2), self.scale, axis=-1)


def test_a_model_narrower_than_tiny_is_planned_with_tiny_memory(micro_ckpt):
    """Memory does not fall below tiny's with the width (bench/smallest_vrt.yaml peaked at twice what a
    per-width estimate allowed), so the micro model (width 12, tiny's windows) gets tiny's automatic sizes."""
    budget = 600_000_000 + 2_000_000_000
    narrow = Runner(micro_ckpt, "cpu", RunnerSettings(graph=False, memory_budget=budget))
    tiny = Runner("tiny", "cpu", RunnerSettings(graph=False, memory_budget=budget))
    assert narrow.window == tiny.window
    assert narrow.plan_sizes(360, 640, 600) == tiny.plan_sizes(360, 640, 600)
    assert narrow.plan_sizes(360, 640, 600)[1] > 0  # a budget that makes the sizes matter: tiles, not frames


def test_resume_with_automatic_sizes_survives_a_different_memory_budget(micro_ckpt, tmp_path):
    """Automatic chunk and tile follow the free memory, which differs after a crash: the resume must
    reuse the sizes the work folder recorded instead of silently starting over."""
    clip = make_test_clip(tmp_path / "c.mp4", 64, 48, 16, audio=False)
    base = dict(model=str(micro_ckpt), device="cpu", graph=False, segment_frames=2, codec="ffv1")
    roomy, tight = 600_000_000 + 1_000_000_000, 600_000_000 + 100_000_000
    runner = JobRunner(NearestRunner)
    roomy_plan = runner.runner_for(JobSettings(**base, memory_budget=roomy)).plan_sizes(48, 64, 16)
    assert roomy_plan[1] == 0 and 2 < roomy_plan[0] < 16  # several whole-frame chunks
    assert runner.runner_for(JobSettings(**base, memory_budget=tight)).plan_sizes(48, 64, 16) != roomy_plan

    out = tmp_path / "out.mkv"
    token = CancelToken()
    first = runner.run(Job(clip, out, JobSettings(**base, memory_budget=roomy)), _cancel_after(token, 1), token)
    assert isinstance(first, Cancelled)
    work = tmp_path / f".{out.name}.vrt-work"
    saved = {p.name: p.stat().st_mtime_ns for p in work.glob("seg_*")}
    assert saved

    events: list = []
    kept: list = []

    def record(event):
        events.append(event)
        if isinstance(event, Progress) and not kept:
            kept.append({p.name: p.stat().st_mtime_ns for p in work.glob("seg_*") if p.name in saved})

    second = runner.run(Job(clip, out, JobSettings(**base, memory_budget=tight)), record)
    assert isinstance(second, Finished), second
    assert kept == [saved]  # the saved segments were kept, not rewritten
    texts = _texts(events)
    assert any(t.startswith("resuming:") for t in texts), texts
    assert not any("discarded" in t for t in texts), texts
    recorded = f"chunk {roomy_plan[0]} frames"
    assert any(recorded in t for t in texts), texts  # the recorded chunk, not the new automatic one
    assert video.probe(out).frame_count == 16


def test_changed_settings_discard_work_with_a_log_line(small_clip, tmp_path):
    out = tmp_path / "out.mp4"
    token = CancelToken()
    settings = dict(model="bicubic", chunk=4, segment_frames=4)
    first = run_job(Job(small_clip, out, JobSettings(**settings)), _cancel_after(token, 4), token)
    assert isinstance(first, Cancelled) and first.resumable
    events: list = []
    assert isinstance(run_job(Job(small_clip, out, JobSettings(crf=30, **settings)), events.append), Finished)
    warnings = _texts(events, "warning")
    assert len(warnings) == 1 and "previous work discarded (crf changed)" in warnings[0], warnings
    assert not any(t.startswith("resuming:") for t in _texts(events))


@pytest.mark.slow
def test_out_of_memory_retry_keeps_the_smaller_tile_for_the_job_and_its_resume(micro_ckpt, tmp_path):
    ooms = []

    class SmallMemoryRunner(Runner):
        """A real runner on a device that runs out of memory above 40 pixels of tile width."""

        def _forward(self, clip):
            if clip.shape[-1] > 40:
                ooms.append(clip.shape)
                raise RuntimeError("Out of memory: failed to allocate device memory")
            return super()._forward(clip)

    clip = make_test_clip(tmp_path / "c.mp4", 48, 32, 4, audio=False)
    base = dict(model=str(micro_ckpt), device="cpu", graph=False, chunk=2, chunk_overlap=0, segment_frames=2)
    base.update(codec="ffv1", tile_overlap=20)
    out = tmp_path / "out.mkv"
    small = JobRunner(SmallMemoryRunner)
    token = CancelToken()
    events: list = []

    def record(event):
        events.append(event)
        _cancel_after(token, 2)(event)

    assert isinstance(small.run(Job(clip, out, JobSettings(tile=0, **base)), record, token), Cancelled)
    assert isinstance(small.run(Job(clip, out, JobSettings(tile=0, **base)), events.append), Finished)
    assert len(ooms) == 1  # whole frames tried once; the next chunk, in the resumed run, kept 32-pixel tiles
    assert any("32-pixel tiles" in t for t in _texts(events, "warning"))

    reference = tmp_path / "reference.mkv"
    assert isinstance(JobRunner().run(Job(clip, reference, JobSettings(tile=32, **base))), Finished)
    np.testing.assert_array_equal(_decoded_frames(out), _decoded_frames(reference))


def test_png_output_survives_a_kill_while_publishing(small_clip, tmp_path, monkeypatch):
    out = tmp_path / "frames"
    settings = JobSettings(model="bicubic", codec="png", chunk=4, segment_frames=4)
    real_replace = os.replace

    def killed_at_publish(src, dst):
        if Path(dst) == out:
            raise KeyboardInterrupt  # the process dies as the output folder is renamed into place
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_publish)
    with pytest.raises(KeyboardInterrupt):
        run_job(Job(small_clip, out, settings))
    monkeypatch.setattr(os, "replace", real_replace)
    assert not out.exists()
    events: list = []
    assert isinstance(run_job(Job(small_clip, out, settings), events.append), Finished)
    assert any(t.startswith("resuming:") for t in _texts(events))
    assert sorted(p.name for p in out.iterdir()) == [f"{i:08d}.png" for i in range(16)]
    np.testing.assert_array_equal(_decoded_frames(out), _decoded_frames(_bicubic_reference(small_clip, tmp_path)))


def _bicubic_reference(clip: Path, folder: Path) -> Path:
    ref = folder / "reference_frames"
    assert isinstance(run_job(Job(clip, ref, JobSettings(model="bicubic", codec="png"))), Finished)
    return ref


def test_alpha_drop_and_audio_reencode_are_job_warnings(tmp_path, caplog):
    clip = make_test_clip(tmp_path / "a.mkv", 32, 24, 4, codec="ffv1", pix_fmt="rgba", audio_codec="pcm_s16le")
    events: list = []
    with warnings.catch_warnings(record=True) as python_warnings:
        warnings.simplefilter("always")
        event = run_job(Job(clip, tmp_path / "out.mp4", JobSettings(model="bicubic")), events.append)
    assert isinstance(event, Finished), event
    found = _texts(events, "warning")
    assert len(found) == 2, found
    assert "a.mkv: alpha channel" in found[0] and "dropped" in found[0], found
    assert "pcm_s16le audio cannot go into mp4; re-encoding it with aac" in found[1], found
    # told once, as job events: not also as Python warnings or logger output (the CLI would print it twice)
    assert not [w for w in python_warnings if "alpha" in str(w.message)]
    assert not [r for r in caplog.records if r.name.startswith("vrt_engine")]
    assert video.probe(tmp_path / "out.mp4").audio_streams == 1


def test_ten_bit_input_gives_ten_bit_h265_without_truncation(tmp_path):
    """A 10-bit gray ramp through bicubic into h265: the output is 10-bit and closer to the exact
    upscale than the same encode of 8-bit-rounded frames could be."""
    from fractions import Fraction

    h, w = 16, 64
    ramp = (np.arange(h * w).reshape(h, w) * 64).astype(np.uint16)  # 1024 gray levels
    src = tmp_path / "ten.mkv"
    with video.FrameWriter(src, w, h, Fraction(25), codec="h265", crf=0, input_bit_depth=10) as writer:
        for k in range(4):
            writer.write(np.repeat(np.roll(ramp, k, axis=1)[..., None], 3, axis=2))
    assert video.probe(src).pix_fmt == "yuv420p10le"
    out = tmp_path / "out.mkv"
    assert isinstance(run_job(Job(src, out, JobSettings(model="bicubic", codec="h265", crf=0))), Finished)
    info = video.probe(out)
    assert (info.codec, info.pix_fmt, info.bit_depth) == ("hevc", "yuv420p10le", 10)

    exact = [bicubic_upscale(to_float(f)) for f in video.read_frames(src)]
    rounded8 = tmp_path / "rounded8.mkv"
    with video.FrameWriter(rounded8, 4 * w, 4 * h, Fraction(25), codec="h265", crf=0, input_bit_depth=10) as writer:
        for frame in exact:
            writer.write(to_integer(frame, np.uint8))

    def error(path: Path) -> float:
        frames = video.read_frames(path)
        return float(np.mean([np.abs(to_float(f) - e).mean() for f, e in zip(frames, exact, strict=True)]))

    assert error(out) < 0.7 * error(rounded8), (error(out), error(rounded8))


def test_graph_failure_falls_back_to_eager_with_a_warning(micro_ckpt):
    """A graph that MindSpore cannot compile (as inside a frozen bundle) must not fail the job: the runner
    carries on in eager mode with the same numbers and says so once."""
    ms = pytest.importorskip("mindspore")
    from vrt_engine.runner import RunnerSettings

    def not_compilable(x):
        return name_graph_mode_cannot_resolve(x)  # noqa: F821  (MindSpore refuses it while compiling)

    frames = np.random.default_rng(1).random((4, 64, 64, 3), dtype=np.float32)
    plan = tiling.ChunkPlan(4, 4, 0)
    eager = Runner(micro_ckpt, "cpu", RunnerSettings(graph=False)).upscale(frames, 0, plan)
    runner = Runner(micro_ckpt, "cpu", RunnerSettings(graph=True, workers=1))  # the model in this process
    runner._compiled = ms.jit(not_compilable)
    np.testing.assert_array_equal(runner.upscale(frames, 0, plan), eager)
    notices = runner.pop_notices()
    assert len(notices) == 1 and notices[0].startswith("graph mode failed (") and "eager" in notices[0]
    runner.upscale(frames, 0, plan)
    assert runner.pop_notices() == []


def test_between_chunks_gets_the_jobs_model_before_each_chunk_and_while_paused(small_clip, tmp_path):
    """The hook a preview uses to run during a job: called with the job's runner at every chunk boundary
    and repeatedly while paused (no frames move then), and the job's output is unchanged by it."""
    settings = dict(model="bicubic", chunk=4, chunk_overlap=0, segment_frames=4, codec="ffv1")
    reference = tmp_path / "reference.mkv"
    assert isinstance(run_job(Job(small_clip, reference, JobSettings(**settings))), Finished)

    token = CancelToken()
    frames_done: list[int] = [0]
    calls: list[tuple[int, bool]] = []  # (frames written so far, paused?) at each call
    runners: set[int] = set()
    previews: list = []

    def between(runner: Runner) -> None:
        runners.add(id(runner))
        calls.append((frames_done[-1], token.paused))
        if len(calls) == 2:
            token.pause()
            threading.Timer(0.8, token.resume).start()
        elif len(calls) == 3:  # while paused, the loaded model serves a preview of a frame not yet written
            previews.append(preview_frame(small_clip, 13, JobSettings(**settings), runner=runner))

    def on_event(event) -> None:
        if isinstance(event, Progress):
            frames_done.append(event.frames_done)

    out = tmp_path / "out.mkv"
    event = JobRunner().run(Job(small_clip, out, JobSettings(**settings)), on_event, token, between_chunks=between)
    assert isinstance(event, Finished), event
    paused = [done for done, was_paused in calls if was_paused]
    assert len(paused) >= 3 and set(paused) == {4}, calls  # polled while paused, after the first chunk only
    assert len(calls) >= 4 + len(paused) - 1  # once before each of the 4 chunks, plus the polls
    assert len(runners) == 1
    assert previews[0].frame_index == 13
    np.testing.assert_array_equal(previews[0].upscaled, preview_frame(small_clip, 13, JobSettings(**settings)).upscaled)
    assert out.read_bytes() == reference.read_bytes()


def test_time_spent_paused_is_left_out_of_elapsed_fps_and_eta(small_clip, tmp_path):
    """A pause of seconds between chunks must not count as work: elapsed does not jump across it, and fps
    and ETA stay those of the frames upscaled (before, a long pause made fps fall and ETA grow)."""
    settings = JobSettings(model="bicubic", chunk=4, chunk_overlap=0, segment_frames=4, codec="ffv1")
    token = CancelToken()
    progress: list[Progress] = []
    pause_seconds = 1.5
    paused: list[float] = []  # monotonic times the pause began and ended

    def resume() -> None:
        paused.append(time.monotonic())
        token.resume()

    def on_event(event) -> None:
        if isinstance(event, Progress):
            progress.append(event)
            if len(progress) == 1:  # the job waits before its next chunk
                paused.append(time.monotonic())
                token.pause()
                threading.Timer(pause_seconds, resume).start()

    began = time.monotonic()
    event = JobRunner().run(Job(small_clip, tmp_path / "out.mkv", settings), on_event, token)
    wall = time.monotonic() - began
    assert isinstance(event, Finished), event
    assert len(progress) == 4 and paused[1] - paused[0] >= pause_seconds
    waited = paused[1] - paused[0]
    assert event.seconds <= wall - waited + 0.3, (event.seconds, wall, waited)
    last = progress[-1]
    assert last.elapsed_seconds <= wall - waited + 0.3, (last, wall, waited)
    across = progress[1].elapsed_seconds - progress[0].elapsed_seconds  # one chunk's work, no pause in it
    assert across < waited - 0.5, (progress[0], progress[1], waited)
    for p in progress:
        assert p.fps == pytest.approx(p.frames_done / p.elapsed_seconds)
        if p.frames_done < p.frames_total:
            assert p.eta_seconds == pytest.approx((p.frames_total - p.frames_done) / p.fps)
