"""Model worker processes: tiles side by side on CPU cores, same results, and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clips import make_test_clip

from vrt_engine.runner import Runner, RunnerSettings
from vrt_engine.workers import WorkerError, WorkerPool, usable_cores

two_cores = pytest.mark.skipif(len(usable_cores()) < 2, reason="needs two CPU cores")


def _cores_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split()[1]
    raise AssertionError(f"no affinity for {pid}")


@two_cores
def test_two_compiled_workers_match_the_model_in_this_process_each_pinned_to_its_own_core(micro_ckpt):
    frames = np.random.default_rng(0).random((4, 96, 112, 3), dtype=np.float32)  # 2x2 tiles of 64
    alone = Runner(micro_ckpt, "cpu", RunnerSettings(tile_overlap=16, graph=False))  # eager: no compiling
    pooled = Runner(micro_ckpt, "cpu", RunnerSettings(tile_overlap=16))  # graph mode: one worker per core
    try:
        assert (alone.workers, pooled.workers) == (1, len(usable_cores()))
        expected = alone.upscale(frames, 64)
        got = pooled.upscale(frames, 64)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)  # graph and eager round differently
        assert pooled.model_calls == 4
        pids = [w.process.pid for w in pooled._pool._workers]
        assert len(pids) == len(usable_cores())
        assert sorted(_cores_of(pid) for pid in pids) == sorted(str(c) for c in usable_cores())
    finally:
        pooled.close()
    assert not any(Path(f"/proc/{pid}").exists() and _is_running(pid) for pid in pids)


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@two_cores
def test_outputs_come_back_in_order_whichever_worker_finishes_first(micro_ckpt):
    pool = WorkerPool(str(micro_ckpt), graph=False, cores=usable_cores()[:2])  # eager: no compiling
    rng = np.random.default_rng(1)
    clips = [rng.random((1, n, 3, 64, 64), dtype=np.float32) for n in (6, 2, 4, 2)]  # long ones first
    try:
        outputs = [out for out, _ in pool.map(clips)]
        assert [o.shape[1] for o in outputs] == [6, 2, 4, 2]
        assert all(o.shape[-2:] == (256, 256) for o in outputs)
        assert pool.started == 2
    finally:
        pool.close()


def test_a_killed_worker_is_one_line_and_the_pool_starts_afresh(micro_ckpt):
    frames = np.random.default_rng(2).random((2, 128, 128, 3), dtype=np.float32)
    automatic = Runner(micro_ckpt, "cpu", RunnerSettings(tile_overlap=16, graph=False))
    assert automatic.workers == 1  # eager mode runs in this process unless workers are asked for
    pool = WorkerPool(str(micro_ckpt), graph=False, cores=usable_cores()[:1])
    try:
        list(pool.map([frames.transpose(0, 3, 1, 2)[None]]))
        os.kill(pool._workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(WorkerError, match=r"^model worker was killed by SIGKILL \(out of memory\?\)$"):
            list(pool.map([frames.transpose(0, 3, 1, 2)[None]]))
        assert pool.started == 0  # the broken pool was shut down ...
        ((out, seconds),) = pool.map([frames.transpose(0, 3, 1, 2)[None]])  # ... and starts afresh
        assert out.shape == (1, 2, 3, 512, 512) and seconds > 0
    finally:
        pool.close()


@two_cores
def test_the_runner_reads_a_killed_worker_as_out_of_memory_and_retries_with_smaller_tiles(micro_ckpt):
    frames = np.random.default_rng(2).random((2, 128, 128, 3), dtype=np.float32)
    pooled = Runner(micro_ckpt, "cpu", RunnerSettings(workers=2, tile_overlap=16, graph=False))
    try:
        first, tile = pooled.upscale_tiled(frames, 128)
        assert tile == 128
        os.kill(pooled._pool._workers[0].process.pid, signal.SIGKILL)
        again, tile = pooled.upscale_tiled(frames, 128)
        assert tile == 88  # smaller_tile(128, 8): about half the area
        assert again.shape == first.shape == (2, 512, 512, 3)
    finally:
        pooled.close()


@two_cores
def test_workers_die_with_a_killed_parent(micro_ckpt, tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "import numpy as np\n"
        "from vrt_engine.runner import Runner, RunnerSettings\n"
        "if __name__ == '__main__':\n"
        f"    r = Runner({str(micro_ckpt)!r}, 'cpu', RunnerSettings(workers=2, graph=False))\n"
        "    r.upscale(np.zeros((2, 64, 64, 3), np.float32), 0)\n"
        "    print(*[w.process.pid for w in r._pool._workers], flush=True)\n"
        "    time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert pids and all(_is_running(pid) for pid in pids), line
    finally:
        parent.kill()  # SIGKILL: no atexit, no cleanup of our own
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_is_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_is_running(pid) for pid in pids)


def test_worker_failures_are_one_line(tmp_path):
    pool = WorkerPool(str(tmp_path / "missing.ckpt"), graph=False)
    with pytest.raises(WorkerError, match=r"missing\.ckpt") as caught:
        list(pool.map([np.zeros((1, 2, 3, 64, 64), np.float32)]))
    assert "\n" not in str(caught.value)
    pool.close()


@two_cores
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread affinity through /proc")
def test_pin_to_core_moves_every_thread_of_the_process():
    core = usable_cores()[-1]
    code = (
        "import threading\n"
        "from pathlib import Path\n"
        "from vrt_engine.devices import pin_to_core\n"
        "done = threading.Event()\n"
        "thread = threading.Thread(target=done.wait)\n"
        "thread.start()\n"
        f"pin_to_core({core})\n"
        "for task in Path('/proc/self/task').iterdir():\n"
        "    status = (task / 'status').read_text().splitlines()\n"
        "    print(next(s.split()[1] for s in status if s.startswith('Cpus_allowed_list:')))\n"
        "done.set()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    lists = done.stdout.split()
    assert len(lists) >= 2 and set(lists) == {str(core)}, done.stdout


@two_cores
def test_a_job_with_two_workers_writes_the_video_one_process_writes(micro_ckpt, tmp_path):
    from vrt_engine import video
    from vrt_engine.job import Finished, Job, JobRunner, JobSettings

    clip = make_test_clip(tmp_path / "wide.mp4", 112, 48, 6, audio=True)  # 2 tiles of 64 per chunk
    base = dict(model=str(micro_ckpt), device="cpu", graph=False, tile=64, tile_overlap=16, chunk=4, codec="ffv1")
    outputs, logs = {}, []
    for workers in (1, 2):
        runner = JobRunner()
        outputs[workers] = tmp_path / f"out_{workers}.mkv"
        job = Job(clip, outputs[workers], JobSettings(**base, workers=workers))
        try:
            assert isinstance(runner.run(job, lambda e: logs.append(getattr(e, "text", ""))), Finished)
        finally:
            runner.close()
    assert any("(2 worker processes, one core each)" in line for line in logs)
    assert outputs[1].read_bytes() == outputs[2].read_bytes()
    assert video.probe(outputs[2]).frame_count == 6
