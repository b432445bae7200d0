"""Time estimates for the queue, worked out in the engine thread (app.worker.EngineWorker).

A known estimate needs only a stored measurement (vrt_engine.estimate.known_estimate: no model run); a
measurement runs when the user asks for one (right-click, Estimate time), or for bicubic, which costs
nothing. Never on the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrt_engine import video
from vrt_engine.job import JobSettings, runner_key
from vrt_engine.runner import Runner


@dataclass(frozen=True)
class EstimateRequest:
    item_id: int
    path: Path
    info: video.VideoInfo
    frames: int  # the frames the job upscales (its range's)
    settings: JobSettings
    calibrate: bool  # measure the model and plan when nothing is known yet (the user asked for it)


@dataclass(frozen=True)
class EstimateResult:
    item_id: int
    key: tuple  # estimate_key of the settings it was made for (a job edited since ignores it)
    text: str  # "about 3 h 10 min", or "" when none is known
    tip: str


def plan_key(settings: JobSettings) -> tuple:
    """What decides a job's plan and its time per frame (not which frames: a range only scales it)."""
    s = settings
    return (*runner_key(s), s.tile, s.chunk, s.tile_overlap, s.chunk_overlap, s.memory_budget, s.deinterlace)


def estimate_key(settings: JobSettings) -> tuple:
    """What decides a job's time estimate: its plan and its range."""
    s = settings
    return (*plan_key(s), s.start, s.end, s.duration)


class Pending:
    """Requests by item id: a newer request for an item replaces one not yet served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[int, Any] = {}

    def put(self, item_id: int, request: Any) -> None:
        with self._lock:
            self._requests[item_id] = request

    def take(self, wanted: Callable[[Any], bool] = lambda _r: True) -> list[Any]:
        with self._lock:
            taken = [r for r in self._requests.values() if wanted(r)]
            for r in taken:
                del self._requests[r.item_id]
            return taken


NO_ESTIMATE_TIP = (
    "No estimate yet for this model and plan on this machine: right-click → Estimate time measures it "
    "(a short run, then kept for every job with the same plan), as vrt-upscale --estimate does"
)


def job_estimate(runner: Runner, request: EstimateRequest) -> tuple[str, str]:
    """(text, tooltip) of a job's time: from a stored measurement, or measured now when asked (or bicubic)."""
    from vrt_engine import estimate as estimates

    info = video.plan_fields(request.info, request.settings.deinterlace).apply(request.info)
    shape = (info.height, info.width, info.frame_count)
    est = estimates.known_estimate(runner, *shape, path=request.path)
    if est is None and (request.calibrate or runner.is_bicubic):
        est = estimates.estimate(runner, *shape, path=request.path)
    if est is None:
        return "", NO_ESTIMATE_TIP
    seconds = est.seconds * request.frames / max(1, request.info.frame_count)  # a range: its share
    tile = f"{est.tile}-pixel tiles" if est.tile else "whole frames"
    tip = (
        f"{estimates.format_duration(seconds)} on {runner.device_name}: {est.chunks} chunks of {est.chunk} frames, "
        f"{tile}, {est.calibration.round_s:.2f} s per round of {runner.workers} side by side (measured here); "
        "the job runs this plan while it fits in memory"
    )
    return estimates.format_duration(seconds), tip
