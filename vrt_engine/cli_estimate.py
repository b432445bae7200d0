"""vrt-upscale --estimate: how long each job would take on this machine, without running it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def print_estimates(paths: Sequence[Path], settings, runner) -> None:
    """One line per input: the estimate and the plan it assumes (calibrating once per plan, then cached)."""
    from . import video
    from .estimate import estimate

    for path in paths:
        info = video.probe(path)
        info = video.plan_fields(info, settings.deinterlace).apply(info)  # the frames the job will plan for
        est = estimate(runner, info.height, info.width, info.frame_count, path=path)
        tile = f"{est.tile}-pixel tiles" if est.tile else "whole frames"
        print(
            f"{path}: {est.text()} ({est.seconds:.0f} s; {info.frame_count} frames {info.width}x{info.height}, "
            f"model {settings.model} on {runner.device_name}, {est.chunks} chunks of {est.chunk} frames, {tile}, "
            f"{est.calibration.round_s:.2f} s per round of {runner.workers} side by side; "
            "a job on it runs this plan while it fits in memory)"
        )
