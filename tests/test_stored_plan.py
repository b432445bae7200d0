"""The estimate fixes the plan it measured, and the job on the same input runs it (vrt_engine.stored_plan).

The memory budget the planner sees is changed between the estimate and the job through the
memory_budget setting (what the free memory does on its own between two commands)."""

from __future__ import annotations

import pytest
from clips import make_test_clip

from vrt_engine import estimate, stored_plan
from vrt_engine.job import Finished, Job, JobRunner, JobSettings, LogLine

ROOMY, TIGHT = 600_000_000 + 1_000_000_000, 600_000_000 + 100_000_000


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("VRT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def clip(tmp_path):
    return make_test_clip(tmp_path / "c.mp4", 64, 48, 16, audio=False)


def _settings(micro_ckpt, budget: int) -> JobSettings:
    return JobSettings(
        model=str(micro_ckpt), device="cpu", graph=False, segment_frames=4, codec="ffv1", memory_budget=budget
    )


def _sizes_text(sizes: tuple[int, int]) -> str:
    return f"chunk {sizes[0]} frames, tile {sizes[1] or 'whole frame'}"


def _run(engine: JobRunner, clip, out, settings) -> tuple[str, list[str]]:
    """The job's plan line and its warnings."""
    events: list = []
    end = engine.run(Job(clip, out, settings), events.append)
    assert isinstance(end, Finished), end
    texts = [e.text for e in events if isinstance(e, LogLine)]
    warnings = [e.text for e in events if isinstance(e, LogLine) and e.level == "warning"]
    return next(t for t in texts if t.startswith("model ")), warnings


def _plans(engine: JobRunner, micro_ckpt) -> tuple[tuple[int, int], tuple[int, int]]:
    roomy = engine.runner_for(_settings(micro_ckpt, ROOMY)).plan_sizes(48, 64, 16)
    tight = engine.runner_for(_settings(micro_ckpt, TIGHT)).plan_sizes(48, 64, 16)
    assert roomy != tight  # the budgets make the automatic plans differ
    return roomy, tight


def test_a_job_runs_the_plan_its_estimate_measured_when_the_memory_grew(micro_ckpt, clip, cache, tmp_path):
    engine = JobRunner()
    roomy, tight = _plans(engine, micro_ckpt)
    est = estimate.estimate(engine.runner_for(_settings(micro_ckpt, TIGHT)), 48, 64, 16, path=clip)
    assert (est.chunk, est.tile) == tight
    assert list((cache / stored_plan.PLANS).glob("*.json"))  # stored beside the timings

    # more memory now: on its own the job would plan `roomy`; it runs what was estimated instead
    line, warnings = _run(engine, clip, tmp_path / "out.mkv", _settings(micro_ckpt, ROOMY))
    assert f"{_sizes_text(tight)} (the plan the estimate measured)" in line, line
    assert not warnings
    # and the estimate read back for the job (the app's queue) is of that plan too
    known = estimate.known_estimate(engine.runner_for(_settings(micro_ckpt, ROOMY)), 48, 64, 16, path=clip)
    assert known is not None and (known.chunk, known.tile) == tight


def test_an_estimate_plan_that_no_longer_fits_is_replanned_with_one_line(micro_ckpt, clip, cache, tmp_path):
    engine = JobRunner()
    roomy, tight = _plans(engine, micro_ckpt)
    est = estimate.estimate(engine.runner_for(_settings(micro_ckpt, ROOMY)), 48, 64, 16, path=clip)
    assert (est.chunk, est.tile) == roomy

    line, warnings = _run(engine, clip, tmp_path / "out.mkv", _settings(micro_ckpt, TIGHT))
    assert f"{_sizes_text(tight)} (planned from the memory free now)" in line, line  # the stored one would not fit
    assert len([w for w in warnings if "estimate no longer applies" in w]) == 1, warnings


def test_a_plan_is_kept_per_input_and_settings(micro_ckpt, clip, cache, tmp_path):
    """Another file, or other requested sizes, do not pick up this input's stored plan."""
    engine = JobRunner()
    _, tight = _plans(engine, micro_ckpt)
    runner = engine.runner_for(_settings(micro_ckpt, TIGHT))
    stored_plan.remember(runner, clip, 48, 64, 16, *tight)
    other = make_test_clip(tmp_path / "other.mp4", 64, 48, 16, audio=False)
    assert stored_plan.stored_sizes(runner, clip, 48, 64, 16) == tight
    assert stored_plan.stored_sizes(runner, other, 48, 64, 16) is None
    assert stored_plan.plan_for(runner, other, 48, 64, 16).source == stored_plan.FROM_MEMORY
    runner.settings.tile_overlap = 8
    assert stored_plan.stored_sizes(runner, clip, 48, 64, 16) is None
