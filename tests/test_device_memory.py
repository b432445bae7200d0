"""The device memory planner with a fake memory *query* (the planner and tiling are real)."""

from __future__ import annotations

from vrt_engine import tiling
from vrt_engine.device_memory import USABLE_FRACTION, plan_for_device


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
