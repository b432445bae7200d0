"""One job on several processes: claims in the work folder, any-subset resume, real msrun ranks on the CPU."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from clips import make_test_clip
from trainer_fixtures import VENV_BIN, env, free_port

from vrt_engine import video, workfolder
from vrt_engine.distributed import share_of
from vrt_engine.job import Finished, Job, JobRunner, JobSettings, LogLine, PreviewPair
from vrt_engine.msrun import World

# The same plan everywhere: eager micro VRT, 6-frame chunks, whole frames, one chunk per segment.
PLAN = ["--chunk", "6", "--chunk-overlap", "2", "--tile", "0", "--segment-frames", "4", "--eager", "--preset",
        "veryfast"]


# ----- claims -----
def _claim(work: Path, g: int, host: str, pid: int, start: str) -> Path:
    path = workfolder.claim_path(work, g)
    path.write_text(json.dumps({"host": host, "pid": pid, "start": start}))
    return path


def test_a_claim_is_taken_once_and_released(tmp_path):
    a, b = workfolder.Claims(tmp_path), workfolder.Claims(tmp_path)
    assert a.take(3)
    assert not b.take(3)  # same process, other job: a live claim is respected
    holder = b.holder(3)
    assert (holder.host, holder.pid) == (socket.gethostname(), os.getpid())
    a.release(3)
    assert not workfolder.claim_path(tmp_path, 3).exists()
    assert b.take(3)
    b.close()
    assert not list(tmp_path.glob("*.claim"))


def test_stale_claims_are_broken_and_live_ones_kept(tmp_path):
    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = workfolder._process_start(alive.pid)
        assert start
        _claim(tmp_path, 0, host, dead.pid, "1")  # its process has ended
        _claim(tmp_path, 1, host, alive.pid, start)  # running
        _claim(tmp_path, 2, host, alive.pid, str(int(start) - 1))  # that pid now names another process
        _claim(tmp_path, 3, "elsewhere", 1, "1")  # another host, touched just now
        old = _claim(tmp_path, 4, "elsewhere", 1, "1")
        os.utime(old, (time.time() - 2 * 3600,) * 2)  # another host, untouched for two hours
        claims = workfolder.Claims(tmp_path)
        assert [claims.take(g) for g in range(5)] == [True, False, True, False, True]
        assert claims.holder(1).pid == alive.pid and claims.holder(3).host == "elsewhere"
        claims.close()
    finally:
        alive.kill()
        alive.wait()


def test_each_rank_first_takes_its_block_then_steals_from_the_end():
    assert share_of(5, World(0, 2)) == [0, 1, 2, 4, 3]
    assert share_of(5, World(1, 2)) == [3, 4, 2, 1, 0]
    assert share_of(2, World(2, 3)) == [1, 0]  # no share of its own: only what is left
    shares = [share_of(10, World(r, 4))[:n] for r, n in enumerate((3, 2, 3, 2))]
    assert sum(shares, []) == list(range(10))  # every segment in exactly one own block


@pytest.mark.parametrize("args", [["IN", "--distributed"], ["IN", "IN", "-o", "OUT", "--distributed"],
                                  ["IN", "-o", "OUT", "--distributed", "--estimate"]])
def test_distributed_needs_one_input_and_its_output(small_clip, tmp_path, capsys, args):
    from vrt_engine.cli_upscale import upscale_main

    argv = [str(small_clip) if a == "IN" else str(tmp_path / "o.mp4") if a == "OUT" else a for a in args]
    assert upscale_main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("vrt-upscale: error: --distributed: ") and "\n" not in err
    assert not list(tmp_path.iterdir())


# ----- any-subset resume, one process -----
def _micro_settings(micro_ckpt: Path) -> JobSettings:
    return JobSettings(model=str(micro_ckpt), device="cpu", chunk=6, chunk_overlap=2, tile=0, graph=False,
                       segment_frames=4, codec="ffv1")


def test_a_missing_middle_segment_is_the_only_one_computed(micro_ckpt, small_clip, tmp_path, monkeypatch):
    runner = JobRunner()
    full = tmp_path / "full.mkv"
    assert isinstance(runner.run(Job(small_clip, full, _micro_settings(micro_ckpt))), Finished)

    out = tmp_path / "out.mkv"
    job = Job(small_clip, out, _micro_settings(micro_ckpt))
    real_mux = video.mux

    def killed_at_mux(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies as it starts writing the output: every segment is there

    monkeypatch.setattr(video, "mux", killed_at_mux)
    with pytest.raises(KeyboardInterrupt):
        runner.run(job)
    monkeypatch.setattr(video, "mux", real_mux)
    segments = sorted(job.work_dir.glob("seg_*.mkv"))
    assert [p.name for p in segments] == ["seg_00000.mkv", "seg_00001.mkv", "seg_00002.mkv"]
    segments[1].unlink()  # 16 frames: segment 0 is frames 0-3, 1 is 4-7, 2 is 8-15
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (segments[0], segments[2])}
    at_mux = {}

    def record(event):
        events.append(event)
        if isinstance(event, LogLine) and event.text.startswith("writing"):
            at_mux.update({n: ((job.work_dir / n).stat().st_ino, (job.work_dir / n).stat().st_mtime_ns) for n in kept})

    events: list = []
    assert isinstance(runner.run(job, record), Finished)
    assert "resuming: 2 of 3 segments already done" in [getattr(e, "text", "") for e in events]
    assert at_mux == kept  # segments 0 and 2 untouched
    assert [e.frame_index for e in events if isinstance(e, PreviewPair)] == [7]  # only segment 1 was written
    assert out.read_bytes() == full.read_bytes()


# ----- msrun -----
def _msrun(workers: int, clip: Path, out: Path, logs: Path, model: Path, extra=(), wait: bool = True):
    cmd = [str(VENV_BIN / "msrun"), f"--worker_num={workers}", f"--local_worker_num={workers}",
           f"--master_port={free_port()}", f"--log_dir={logs}", "--join=True", str(VENV_BIN / "vrt-upscale"),
           str(clip), "-o", str(out), "--model", str(model), *PLAN, *extra, "--distributed"]
    if not wait:
        return subprocess.Popen(cmd, cwd=out.parent, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    proc = subprocess.run(cmd, cwd=out.parent, env=env(), capture_output=True, text=True, timeout=580)
    worker = "\n".join(p.read_text() for p in sorted(logs.glob("worker_*.log")))
    assert proc.returncode == 0, proc.stderr[-1500:] + worker[-4000:]
    return proc


def _segments_by_rank(logs: Path, workers: int) -> dict[int, list[int]]:
    """What each rank's log says it did ("rank 1: segments 1, 3")."""
    done = {}
    for r in range(workers):
        m = re.search(rf"^rank {r}: segments (.+)$", (logs / f"worker_{r}.log").read_text(), re.M)
        assert m, (logs / f"worker_{r}.log").read_text()[-3000:]
        done[r] = [] if m.group(1) == "none" else [int(g) for g in m.group(1).split(", ")]
    return done


def _single(clip: Path, out: Path, model: Path, extra=()) -> bytes:
    cmd = [sys.executable, "-m", "vrt_engine.cli", "upscale", str(clip), "-o", str(out), "--model", str(model),
           "--workers", "1", *PLAN, *extra]
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=580)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory) -> Path:
    """64x48, 22 frames with sound: five one-chunk segments (4, 4, 4, 4 and 6 frames)."""
    return make_test_clip(tmp_path_factory.mktemp("dist") / "clip.mp4", 64, 48, 22, fps=Fraction(25), audio=True)


@pytest.mark.slow
def test_two_ranks_write_the_file_one_process_writes(micro_ckpt, clip_with_sound, tmp_path):
    reference = _single(clip_with_sound, tmp_path / "single.mp4", micro_ckpt)
    out, logs = tmp_path / "dist.mp4", tmp_path / "logs"
    _msrun(2, clip_with_sound, out, logs, micro_ckpt)
    assert out.read_bytes() == reference
    assert video.probe(out).audio_streams == 1
    done = _segments_by_rank(logs, 2)
    assert sorted(done[0] + done[1]) == [0, 1, 2, 3, 4]  # each segment once
    assert done[0] and done[1]  # both ranks worked
    assert done[1][0] == 3  # rank 1 started with its own share (segments 3 and 4)
    rank0, rank1 = (logs / "worker_0.log").read_text(), (logs / "worker_1.log").read_text()
    assert "22/22 frames" in rank0 and "frames  " not in rank1  # progress of the whole job, from rank 0 only
    assert re.search(rf"^rank 1: \d+ frames in [\d.]+ s; rank 0 writes {re.escape(str(out))}$", rank1, re.M)
    assert not (tmp_path / f".{out.name}.vrt-work").exists()


@pytest.mark.slow
def test_a_killed_rank_leaves_the_rest_to_the_same_command(micro_ckpt, tmp_path):
    clip = make_test_clip(tmp_path / "clip.mp4", 64, 48, 36, fps=Fraction(25), audio=True)  # 8 segments
    reference = _single(clip, tmp_path / "single.mp4", micro_ckpt)
    out = tmp_path / "dist.mp4"
    work = tmp_path / f".{out.name}.vrt-work"
    proc = _msrun(2, clip, out, tmp_path / "logs1", micro_ckpt, wait=False)
    deadline = time.monotonic() + 400
    victim = None
    while time.monotonic() < deadline and proc.poll() is None and victim is None:
        time.sleep(0.1)
        if len(workfolder.finished_segments(work, 8)) >= 2:
            held = [workfolder.read_claim(p) for p in work.glob("*.claim")]
            victim = next((o.pid for o in held if o is not None), None)
    assert proc.poll() is None and victim is not None, "the job ended before a rank could be killed"
    os.kill(victim, signal.SIGKILL)  # one rank dies mid-segment; msrun stops the others
    assert proc.wait(timeout=120) != 0
    finished = workfolder.finished_segments(work, 8)
    assert 2 <= len(finished) < 8 and not out.exists()

    logs = tmp_path / "logs2"
    _msrun(2, clip, out, logs, micro_ckpt)
    assert out.read_bytes() == reference
    done = _segments_by_rank(logs, 2)
    recomputed = sorted(done[0] + done[1])
    assert recomputed == sorted(set(range(8)) - finished)  # the finished segments were not computed again
    assert f"resuming: {len(finished)} of 8 segments already done" in (logs / "worker_0.log").read_text()


@pytest.mark.slow
def test_three_ranks_on_two_segments(micro_ckpt, tmp_path):
    clip = make_test_clip(tmp_path / "clip.mp4", 64, 48, 8, fps=Fraction(25), audio=True)  # chunks 0-5, 2-7
    reference = _single(clip, tmp_path / "single.mp4", micro_ckpt, ["--segment-frames", "2"])
    out, logs = tmp_path / "dist.mp4", tmp_path / "logs"
    _msrun(3, clip, out, logs, micro_ckpt, extra=["--segment-frames", "2"])
    assert out.read_bytes() == reference
    done = _segments_by_rank(logs, 3)
    assert sorted(done[0] + done[1] + done[2]) == [0, 1]
    assert [] in done.values()  # a rank with nothing to do exited cleanly (msrun's exit status was 0)


@pytest.mark.slow
def test_a_part_of_the_video_is_shared_by_its_segments(micro_ckpt, clip_with_sound, tmp_path):
    part = ["--start", "f5", "--end", "f17"]  # frames 5-16: the part's three segments are what ranks share
    reference = _single(clip_with_sound, tmp_path / "single.mp4", micro_ckpt, part)
    out, logs = tmp_path / "dist.mp4", tmp_path / "logs"
    _msrun(2, clip_with_sound, out, logs, micro_ckpt, extra=part)
    assert out.read_bytes() == reference
    assert video.probe(out).frame_count == 12
    done = _segments_by_rank(logs, 2)
    assert sorted(done[0] + done[1]) == [0, 1, 2]
