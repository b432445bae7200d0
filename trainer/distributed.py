"""MindSpore's own data parallelism, as started by msrun (one process per device).

msrun sets MS_ROLE in each process it starts: MS_WORKER for the workers and MS_SCHED for the scheduler,
which runs the same command and must call ``communication.init()`` too (it serves the group there and
never trains). In the workers ``init()`` joins the group and
DATA_PARALLEL mode with gradients_mean makes ``nn.DistributedGradReducer`` average gradients.
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


def init_world() -> World:
    """Join the msrun group when launched by msrun; a single process otherwise."""
    if not launched_by_msrun():
        return World()
    import mindspore as ms
    from mindspore.communication import get_group_size, get_rank, init

    init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    return World(get_rank(), get_group_size())


def sum_over_ranks(world: World, values: list[float]) -> list[float]:
    """Element-wise sum of a short vector over all ranks (the vector itself in a single process).

    Why: small decisions (the resume iteration, whether any rank failed) must agree on every rank,
    or the ranks train from different states and hang at the next all-reduce.
    """
    if world.size == 1:
        return list(values)
    import mindspore as ms
    import numpy as np
    from mindspore import ops

    out = ops.AllReduce()(ms.Tensor(np.asarray(values, np.float32)))  # float32: exact for iterations < 2**24
    return [float(v) for v in out.asnumpy()]
