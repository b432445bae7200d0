"""MindSpore's own data parallelism, as started by msrun (one process per device).

The msrun helpers (rank, device, sums over ranks) are shared with ``vrt-upscale --distributed`` and live
in vrt_engine.msrun. Here ``init_world`` joins the group and sets DATA_PARALLEL mode, whose
gradients_mean makes ``nn.DistributedGradReducer`` average gradients.
"""

from __future__ import annotations

from vrt_engine.msrun import World, join_group, launched_by_msrun, sum_over_ranks

__all__ = ["World", "init_world", "launched_by_msrun", "sum_over_ranks"]


def init_world() -> World:
    """Join the msrun group when launched by msrun; a single process otherwise."""
    world = join_group()
    if launched_by_msrun():
        import mindspore as ms

        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    return world
