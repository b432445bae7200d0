"""The plan an estimate measured, kept for the job on the same input.

Why: automatic chunk and tile follow the memory free at the moment (Runner.plan_sizes), so a job
started a minute after ``vrt-upscale --estimate`` could plan differently and take three times the
estimate. The estimate therefore stores the plan it measured in the cache folder, keyed by the input
(path, size, modification time), its planned frame size and count, and the settings that decide a
plan (model, device, precision, graph mode, workers, requested sizes and overlaps; not the memory
budget, which is what changes). A job with automatic sizes uses a stored plan while it still fits
the memory budget now, by the planner's own memory model; otherwise it plans anew and says once that
the estimate no longer applies.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import graph_cache, tiling

if TYPE_CHECKING:
    from .runner import Runner

PLANS = "plans"
FROM_ESTIMATE = "estimate"
FROM_MEMORY = "memory"
FROM_SETTINGS = "settings"


@dataclass
class JobPlan:
    """The sizes a job runs with, where they came from, and a warning when an estimate's plan was dropped."""

    chunk: int
    tile: int
    source: str  # estimate | memory | settings
    warning: str = ""

    @property
    def sizes(self) -> tuple[int, int]:
        return self.chunk, self.tile

    def describe(self) -> str:
        """Words for the job's log: which plan it is."""
        return {
            FROM_ESTIMATE: "the plan the estimate measured",
            FROM_MEMORY: "planned from the memory free now",
            FROM_SETTINGS: "sizes as set",
        }[self.source]


def _file_id(path: str | Path) -> list:
    p = Path(path).resolve()
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]


def plan_key(runner: Runner, path: str | Path, height: int, width: int, frames: int) -> dict:
    """What decides an automatic plan, except the memory budget."""
    s = runner.settings
    model = Path(runner.model_name)
    return {
        "input": _file_id(path),
        "frames": int(frames),
        "size": [int(height), int(width)],
        "model": _file_id(model) if model.is_file() else runner.model_name,
        "device": runner.device_name,
        "precision": runner.precision,
        "graph": s.graph,
        "workers": runner.workers,
        "tile": s.tile,
        "chunk": s.chunk,
        "tile_overlap": s.tile_overlap,
        "chunk_overlap": s.chunk_overlap,
    }


def _path(key: dict) -> Path:
    return graph_cache.cache_root() / PLANS / f"{graph_cache.key_name(key)}.json"


def remember(runner: Runner, path: str | Path, height: int, width: int, frames: int, chunk: int, tile: int) -> None:
    """Store the plan an estimate measured (temp file and rename; a cache that cannot be written loses it)."""
    try:
        key = plan_key(runner, path, height, width, frames)
        target = _path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        temp.write_text(json.dumps({"key": key, "chunk": chunk, "tile": tile, "time": time.time()}))
        temp.replace(target)
    except OSError:
        pass


def stored_sizes(runner: Runner, path: str | Path, height: int, width: int, frames: int) -> tuple[int, int] | None:
    """The (chunk, tile) an estimate stored for this input and these settings, if any."""
    try:
        key = plan_key(runner, path, height, width, frames)
        data = json.loads(_path(key).read_text())
        if data.get("key") != key:
            return None
        return int(data["chunk"]), int(data["tile"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def plan_for(runner: Runner, path: str | Path, height: int, width: int, frames: int) -> JobPlan:
    """The job's sizes: an estimate's stored plan while it fits the memory budget now, else a new plan."""
    s = runner.settings
    now = runner.plan_sizes(height, width, frames)
    if runner.is_bicubic or (s.tile is not None and s.chunk is not None):
        return JobPlan(*now, FROM_SETTINGS)
    stored = stored_sizes(runner, path, height, width, frames)
    if stored is None:
        return JobPlan(*now, FROM_MEMORY)
    if stored == now:
        return JobPlan(*now, FROM_ESTIMATE)
    chunk, tile = stored
    need = tiling.call_memory(height, width, chunk or frames, tile, runner.bytes_per_pixel_frame, runner.window)
    budget = runner.plan_budget()
    if need <= budget:
        return JobPlan(*stored, FROM_ESTIMATE)
    return JobPlan(
        *now,
        FROM_MEMORY,
        f"{Path(path).name}: the estimate's plan (chunk {stored[0]}, tile {stored[1] or 'whole frame'}) needs "
        f"{need / 1e9:.1f} GB per model call, more than the {max(budget, 0) / 1e9:.1f} GB there is now; "
        f"planned anew (chunk {now[0]}, tile {now[1] or 'whole frame'}), so the estimate no longer applies",
    )
