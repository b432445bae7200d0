"""The device memory planner with a fake memory *query* (the planner, tiling and job are real)."""

from __future__ import annotations

import json

import numpy as np
from clips import make_test_clip

from vrt_engine import tiling
from vrt_engine.device_memory import USABLE_FRACTION, plan_for_device
from vrt_engine.job import Cancelled, CancelToken, Finished, Job, JobRunner, JobSettings, LogLine, Progress
from vrt_engine.runner import Runner


def test_plan_follows_the_free_memory_the_device_reports():
    small = plan_for_device(180, "accelerator", "float16", query=lambda: (80 << 30, 10 << 30))
    large = plan_for_device(180, "accelerator", "float16", query=lambda: (80 << 30, 70 << 30))
    assert small.budget == int((10 << 30) * USABLE_FRACTION) - small.fixed_bytes
    assert large.budget > 6 * small.budget
    half = plan_for_device(180, "accelerator", "float16", query=lambda: (80 << 30, 70 << 30))
    full = plan_for_device(180, "accelerator", "float32", query=lambda: (80 << 30, 70 << 30))
    assert half.bytes_per_pixel_frame < full.bytes_per_pixel_frame
    sizes = [
        tiling.auto_tile(720, 1280, 60, p.budget, p.bytes_per_pixel_frame, (6, 8, 8), max_chunk=12)
        for p in (small, large)
    ]
    assert sizes[0] != sizes[1]


def test_first_chunk_peak_corrects_the_plan_once():
    plan = plan_for_device(120, "accelerator", "float32", query=lambda: (40 << 30, 40 << 30))
    pixel_frames = 6 * 256 * 256
    predicted = plan.predicted_peak(pixel_frames)
    measured = int(plan.fixed_bytes + 2 * (predicted - plan.fixed_bytes))  # the real model needs twice as much
    assert abs(plan.correct(pixel_frames, measured) - 2.0) < 1e-6
    assert abs(plan.predicted_peak(pixel_frames) - measured) < 1e3
    assert plan.correct(pixel_frames, 1) == 1.0  # only the first chunk corrects


class FakeDeviceRunner(Runner):
    """A real runner (padding, tiling, planner, correction) on a fake device: its free memory and the first
    call's peak come from fake *queries*; the network is nearest-neighbour, so the job is quick."""

    FREE = 2_000_000_000
    PEAK_FACTOR = 4.0  # the first call measures 4 times the memory the constants predicted

    def __init__(self, model, device, settings):
        super().__init__(model, device, settings)
        self._device_plan = plan_for_device(12, "accelerator", "float32", query=lambda: (8 << 30, self.FREE))
        self.bytes_per_pixel_frame = self._device_plan.bytes_per_pixel_frame
        self.fixed_bytes = self._device_plan.fixed_bytes
        self.pixel_frames: list[int] = []

    def _call_compiled(self, x):
        self.pixel_frames.append(int(np.prod(x.shape[:2]) * x.shape[-2] * x.shape[-1]))
        y = x.asnumpy()
        return np.repeat(np.repeat(y, self.scale, axis=-2), self.scale, axis=-1)

    def _measured_peak(self) -> int:
        plan = self._device_plan
        return int(plan.fixed_bytes + self.PEAK_FACTOR * plan.bytes_per_pixel_frame * self.pixel_frames[-1])


def test_job_takes_the_tile_of_the_corrected_plan_after_its_first_chunk_and_resumes_with_it(micro_ckpt, tmp_path):
    clip = make_test_clip(tmp_path / "c.mp4", 128, 128, 6, audio=False)
    settings = dict(model=str(micro_ckpt), device="cpu", graph=False, workers=1, chunk=2, chunk_overlap=0)
    settings.update(segment_frames=2, codec="ffv1")
    out = tmp_path / "out.mkv"
    token = CancelToken()
    events: list = []

    def cancel_after_first_chunk(event):
        events.append(event)
        if isinstance(event, Progress):
            token.cancel()

    jobs = JobRunner(FakeDeviceRunner)
    runner = jobs.runner_for(JobSettings(**settings))
    assert runner.plan_sizes(128, 128, 6) == (2, 0)  # the constants' plan: whole frames fit
    assert isinstance(jobs.run(Job(clip, out, JobSettings(**settings)), cancel_after_first_chunk, token), Cancelled)
    assert runner.pixel_frames[0] == 2 * 128 * 128  # the first chunk ran on whole frames
    state = json.loads((tmp_path / ".out.mkv.vrt-work" / "job.json").read_text())
    tile = state["tiles"][1][1]
    assert state["tiles"] == [[0, 0], [1, tile]] and 0 < tile < 128  # measured: 4 times as much memory
    assert any(isinstance(e, LogLine) and f"{tile} tiles from frame 2" in e.text for e in events)

    events.clear()
    resumed = JobRunner(FakeDeviceRunner)  # a fresh process: its first call corrects its plan again
    assert isinstance(resumed.run(Job(clip, out, JobSettings(**settings)), events.append), Finished)
    assert not any(isinstance(e, LogLine) and "measured memory" in e.text for e in events)  # the recorded tile
    assert max(resumed.runner_for(JobSettings(**settings)).pixel_frames) < 2 * 128 * 128  # tiles, not frames
