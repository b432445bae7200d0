"""Processes started by MindSpore's launcher, msrun: which rank this is, its device, sums over ranks.

Shared by the trainer (data-parallel training) and ``vrt-upscale --distributed`` (segments shared out).
msrun sets MS_ROLE in each process it starts: MS_WORKER for the workers and MS_SCHED for the scheduler,
which runs the same command and must call ``communication.init()`` too (it serves the group inside that
call and the process ends there). Each worker gets DEVICE_ID, its local rank on its machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_msrun() -> bool:
    """True in msrun's processes: its workers and its scheduler (which runs the same command)."""
    return os.environ.get("MS_ROLE") in ("MS_WORKER", "MS_SCHED")


def local_rank() -> str | None:
    """This worker's index on its machine (msrun's DEVICE_ID); None outside msrun."""
    return os.environ.get("DEVICE_ID") if launched_by_msrun() else None


def join_group() -> World:
    """Join the msrun group (the scheduler process serves it and ends inside); a single process otherwise.

    Set the device first (:func:`vrt_engine.devices.activate`): MindSpore binds the group to it."""
    if not launched_by_msrun():
        return World()
    from mindspore.communication import get_group_size, get_rank, init

    init()
    return World(get_rank(), get_group_size())


def sum_over_ranks(world: World, values: list[float]) -> list[float]:
    """Element-wise sum of a short vector over all ranks (the vector itself in a single process).

    Why: small decisions (the resume iteration, whether any rank failed) must agree on every rank.
    Every rank must call it the same number of times: it is also a barrier.
    """
    if world.size == 1:
        return list(values)
    import mindspore as ms
    import numpy as np
    from mindspore import ops

    out = ops.AllReduce()(ms.Tensor(np.asarray(values, np.float32)))  # float32: exact for counts < 2**24
    return [float(v) for v in out.asnumpy()]


def worker_device(name: str, auto_kind: str, local_id: str | None) -> str:
    """The device name one process uses: 'auto' resolved to a kind first, then msrun's local card appended.

    Why: msrun starts one process per card and says which in DEVICE_ID; a bare kind ('auto', 'gpu')
    would put every worker on card 0. An explicit index ('gpu:3') is kept as given.
    """
    text = name.strip().lower()
    kind = auto_kind if text == "auto" else text
    if local_id is not None and kind in ("gpu", "ascend"):
        return f"{kind}:{local_id}"
    return kind


def pin_cpu_worker(local_id: str | None) -> None:
    """On a CPU, msrun's workers of one machine run on one core each (local rank N on the Nth usable core).

    Why: each MindSpore process sizes its thread pool to every core it may use; side by side they fight
    over the same cores (bench/train_speed.py: 2 workers pinned beat 1 process, unpinned they lost)."""
    if local_id is None or os.environ.get("MS_ROLE") != "MS_WORKER":
        return
    from .devices import pin_to_core
    from .workers import usable_cores

    cores = usable_cores()
    pin_to_core(cores[int(local_id) % len(cores)])
