"""One job shared by msrun's ranks (``vrt-upscale --distributed``), one device per rank.

    msrun --worker_num=2 --local_worker_num=2 --master_port=8118 --join=True vrt-upscale IN -o OUT --distributed

Every rank opens the same job. Rank 0 prepares the work folder (resumes it, or discards work from other
settings); an all-reduce is the barrier after which the others read its job.json, so every rank uses
rank 0's chunk and tile sizes, and a second one makes a rank that cannot (a folder not shared between
machines, another input) stop every rank with one line. Then each rank computes its own share of the
segments (one contiguous block per rank), then takes segments nobody has claimed yet, from the end
(work stealing: a slow device does not hold the others up). Rank 0 prints progress for the whole job
from the segments in the folder, waits for the last ones and writes the output; the other ranks exit
when nothing is left to take.

Why the folder and not collectives after the start: ranks finish at different times, and MindSpore's
CPU all-reduce gives up after about 90 s of waiting for a slower rank (measured here, 2026-12-07).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import workfolder
from .msrun import World, join_group, local_rank, pin_cpu_worker, sum_over_ranks, worker_device


def join(device: str) -> tuple[World, str]:
    """This process's rank and device under msrun: its own card by local rank (GPU/Ascend) or one core of
    the CPU, set before joining the group (MindSpore binds the group to the device). Outside msrun: rank 0
    of 1, the device as given."""
    from .devices import activate, parse_device

    local = local_rank()
    auto_kind = parse_device("auto").kind if device.strip().lower() == "auto" else ""
    name = worker_device(device, auto_kind, local)
    chosen = parse_device(name)
    if chosen.kind == "cpu":
        pin_cpu_worker(local)
    activate(chosen)
    return join_group(), chosen.name


def owner_of(g: int, count: int, world: World) -> int:
    """The rank whose own share holds segment g: the segments split into one contiguous block per rank."""
    return g * world.size // count


def share_of(count: int, world: World) -> list[int]:
    """The order in which a rank tries the segments: its own block, then the others' from the end (those
    their owners would reach last). Why blocks and not every N-th segment: a segment that does not follow
    the one a rank just computed costs the chunks of context before it again."""
    own = [g for g in range(count) if owner_of(g, count, world) == world.rank]
    others = [g for g in reversed(range(count)) if owner_of(g, count, world) != world.rank]
    return own + others


def _mismatch(saved: dict, mine: dict) -> str:
    """The settings in which rank 0's job.json differs from this rank's job ('' when none); the card may
    differ (each rank has its own), not its kind."""
    def kind(fp: dict) -> dict:
        return {**fp, "device": str(fp.get("device", "")).partition(":")[0]}

    a, b = kind(saved), kind(mine)
    return ", ".join(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)))


class RankShare(workfolder.Share):
    """workfolder.Share for one of msrun's ranks (see the module's docstring)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.muxes = world.is_main
        self.label = f"rank {world.rank}"

    def open(
        self, work: Path, fingerprint: dict, chunk: int, tile: int, warn: Callable[[str], None]
    ) -> tuple[workfolder.WorkState, bool]:
        state, resumed, error = None, False, ""
        if self.world.is_main:
            try:
                state, resumed = workfolder.open_work(work, fingerprint, chunk, tile, warn)
            except OSError as exc:
                error = f"{work}: {exc.strerror or exc}"
        sum_over_ranks(self.world, [0.0])  # barrier: rank 0 has the work folder ready
        if not self.world.is_main:
            try:
                state, resumed = workfolder.read_state(work), True
                changed = _mismatch(state.fingerprint, fingerprint)
                if changed:
                    error = f"{work}: rank 0 runs other settings ({changed} differ)"
            except (OSError, ValueError, KeyError, TypeError):
                error = f"{work}: no job.json from rank 0 (on several machines the output folder must be shared)"
        failed = sum_over_ranks(self.world, [1.0 if error else 0.0])[0]
        if error:
            raise ValueError(f"rank {self.world.rank}: {error}")
        if failed or state is None:
            raise ValueError(f"rank {self.world.rank}: another rank could not open {work} (see its log)")
        return state, resumed

    def order(self, count: int) -> list[int]:
        return share_of(count, self.world)
