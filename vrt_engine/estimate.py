"""How long a job will take, before it starts: from a short calibration measured on this machine.

The model's time dominates a job: chunks x rounds of tiles (a round is one tile per worker running
side by side) x the seconds of one round, plus the first call (compiling the graph, or loading it from
the graph cache). A calibration runs the job's plan on random frames for two rounds (the first
compiles, the second is timed) and is kept in the cache folder beside the graphs, keyed like them by
model, device, precision, workers and tile shape, so later estimates for the same plan are free.
Decoding and encoding are counted per output pixel (measured once on this machine as part of the
same calibration: they are small beside the model but not nothing on tiny models).
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import graph_cache, stored_plan, tiling
from .runner import Runner

TIMINGS = "timings"
WARM_FIRST_FRACTION = 0.15  # a first call with the graph cached, relative to a cold one (bench/graph_cache.py)
CACHED_FIRST_ROUNDS = 4
CODING_SECONDS_PER_OUTPUT_MPIXEL = 0.004  # decode + blend + x264 medium, 2-core EPYC (bench/estimate_accuracy.py)


@dataclass
class Calibration:
    """Measured seconds for one plan: the first call (cold or warm) and one round of tiles after it."""

    first_s: float
    round_s: float
    first_was_cached: bool

    def warm_first_s(self) -> float:
        """The first call of a later run, which finds the graph in the cache."""
        return self.first_s if self.first_was_cached else self.first_s * WARM_FIRST_FRACTION


@dataclass
class Estimate:
    """The parts of a job's estimated time, in seconds."""

    seconds: float
    chunks: int
    rounds: int
    chunk: int
    tile: int
    calibration: Calibration

    def text(self) -> str:
        return format_duration(self.seconds)


def format_duration(seconds: float) -> str:
    """'about 3 h 10 min', 'about 12 min', 'about 40 s': two significant units, rounded."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"
    days, hours = divmod(hours, 24)
    return f"about {days} d {hours} h" if hours else f"about {days} d"


def _key(runner: Runner, piece: tuple[int, int, int]) -> dict:
    from .models_dir import resolve_model

    model = "bicubic" if runner.is_bicubic else graph_cache.file_digest(resolve_model(runner.model_name))
    return {
        "model": model,
        "code": graph_cache.code_digest(),
        "device": runner.device_name,
        "precision": runner.precision,
        "graph": runner.settings.graph,
        "workers": runner.workers,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "piece": list(piece),
    }


def _timing_path(key: dict) -> Path:
    return graph_cache.cache_root() / TIMINGS / f"{graph_cache.key_name(key)}.json"


def stored_calibration(key: dict) -> Calibration | None:
    """A calibration measured before for this key, if the cache holds one."""
    try:
        data = json.loads(_timing_path(key).read_text())
        if data.get("key") != key:
            return None
        return Calibration(float(data["first_s"]), float(data["round_s"]), bool(data["first_was_cached"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(key: dict, cal: Calibration) -> None:
    """Keep a calibration (temp file and rename; a cache that cannot be written just loses it)."""
    path = _timing_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        temp.write_text(json.dumps({"key": key, **cal.__dict__}))
        temp.replace(path)
    except OSError:
        pass


def _piece(
    runner: Runner, height: int, width: int, frames: int, sizes: tuple[int, int]
) -> tuple[int, int, int, int, tuple[int, int, int]]:
    """(chunk length, tile, chunks, tiles per chunk, the calibration clip's shape: one tile per worker)."""
    chunk, tile = sizes
    plan = tiling.ChunkPlan(frames, chunk, runner.settings.chunk_overlap if chunk else 0)
    tiles = tiling.tiles_per_chunk(height, width, tile, runner.settings.tile_overlap)
    if not tile:
        return plan.length, tile, len(plan), tiles, (plan.length, height, width)
    side_by_side = min(runner.workers, tiles)
    overlap = runner.tile_overlap_for(tile)
    w = min(width, side_by_side * tile - (side_by_side - 1) * overlap)
    return plan.length, tile, len(plan), tiles, (plan.length, min(height, tile), w)


def calibrate(
    runner: Runner, height: int, width: int, frames: int, sizes: tuple[int, int] | None = None
) -> Calibration:
    """Measure the job's plan (``sizes``, else planned now) on random frames: one round to compile,
    one timed; kept in the cache."""
    sizes = sizes or runner.plan_sizes(height, width, frames)
    chunk, tile, _, _, piece = _piece(runner, height, width, frames, sizes)
    key = _key(runner, piece)
    stored = stored_calibration(key)
    if stored is not None:
        return stored
    clip = np.random.default_rng(0).random((*piece, 3), dtype=np.float32)
    plan = tiling.ChunkPlan(chunk, chunk, 0)
    start = time.perf_counter()
    runner.upscale(clip, tile, plan)
    first = time.perf_counter() - start
    start = time.perf_counter()
    runner.upscale(clip, tile, plan)
    round_s = time.perf_counter() - start
    # a cached graph loads in a few rounds' time; compiling takes far longer (bench/graph_cache.py)
    cal = Calibration(first, round_s, first < CACHED_FIRST_ROUNDS * round_s + 5.0)
    _store(key, cal)
    return cal


def _sizes(
    runner: Runner, height: int, width: int, frames: int, path: str | os.PathLike[str] | None
) -> tuple[int, int]:
    if path is None:
        return runner.plan_sizes(height, width, frames)
    return stored_plan.plan_for(runner, path, height, width, frames).sizes


def estimate(
    runner: Runner,
    height: int,
    width: int,
    frames: int,
    cal: Calibration | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Estimate:
    """The job's time on this machine: calibrated (measured now if the cache has no calibration).

    With the input's ``path``, the plan measured is stored for the job on it (vrt_engine.stored_plan),
    so the job runs what was estimated even if the free memory changes in between."""
    sizes = _sizes(runner, height, width, frames, path)
    if cal is None:
        cal = calibrate(runner, height, width, frames, sizes)
    if path is not None:
        stored_plan.remember(runner, path, height, width, frames, *sizes)
    return _estimate(runner, height, width, frames, sizes, cal)


def _estimate(
    runner: Runner, height: int, width: int, frames: int, sizes: tuple[int, int], cal: Calibration
) -> Estimate:
    chunk, tile, chunks, tiles, _ = _piece(runner, height, width, frames, sizes)
    rounds = chunks * math.ceil(tiles / max(1, min(runner.workers, tiles)))
    coding = frames * height * width * runner.scale**2 / 1e6 * CODING_SECONDS_PER_OUTPUT_MPIXEL
    seconds = cal.warm_first_s() + rounds * cal.round_s + coding
    return Estimate(seconds, chunks, rounds, chunk, tile, cal)


def known_estimate(
    runner: Runner, height: int, width: int, frames: int, path: str | os.PathLike[str] | None = None
) -> Estimate | None:
    """As :func:`estimate`, but only from a stored calibration (None when there is none: nothing runs,
    nothing is stored)."""
    sizes = _sizes(runner, height, width, frames, path)
    cal = stored_calibration(_key(runner, _piece(runner, height, width, frames, sizes)[4]))
    return None if cal is None else _estimate(runner, height, width, frames, sizes, cal)
