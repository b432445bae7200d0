"""TrainStep on a two-layer stand-in for VRT: learning rates reach Adam, the phase switch releases the frozen graph."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from trainer_fixtures import micro_recipe

from trainer.config import load_config
from trainer.loop import TrainStep


@pytest.fixture(autouse=True, scope="module")
def _on_cpu():
    """Choose the device before any kernel runs, as the trainer does: later tests in this process call
    mindspore.set_device too, which MindSpore refuses once kernels ran without one."""
    import mindspore as ms

    ms.set_device("CPU")


def _two_layers():
    from mindspore import nn

    class TwoLayers(nn.Cell):
        """One parameter group named like SpyNet (a fix_key), one not."""

        def __init__(self):
            super().__init__()
            self.spynet = nn.Dense(4, 4)
            self.body = nn.Dense(4, 4)

        def construct(self, x):
            return self.body(self.spynet(x))

    return TwoLayers()


def _batch():
    import mindspore as ms

    rng = np.random.default_rng(0)
    return tuple(ms.Tensor(rng.standard_normal((2, 4)).astype(np.float32)) for _ in range(2))


@pytest.mark.parametrize("graph", [False, True])
def test_each_iterations_learning_rate_reaches_adam(tmp_path, graph):
    # Parameter.set_data swaps the lr Parameter's buffer and a step that already ran kept the old one: every
    # step trained at the first step's rate. Adam's first steps move each weight by about lr.
    cfg = load_config(micro_recipe(tmp_path / "r.yaml", tmp_path, tmp_path / "out", graph=graph, fix_iter=0))
    step = TrainStep(_two_layers(), cfg)
    lq, gt = _batch()
    weight = step.main_params[0]
    for lr in (1e-3, 1e-4, 1e-2):
        before = weight.asnumpy().copy()
        step.set_lrs(lr, lr)
        step(lq, gt, frozen=False)
        moved = float(np.median(np.abs(weight.asnumpy() - before)))
        assert moved == pytest.approx(lr, rel=0.2), f"lr {lr}: weights moved {moved}"


def test_phase_switch_releases_the_frozen_step_and_its_graph(tmp_path):
    from mindspore.graph.api import ms_compile_cache  # the phases of the graphs mindspore.jit keeps (private)

    cfg = load_config(micro_recipe(tmp_path / "r.yaml", tmp_path, tmp_path / "out", graph=True, fix_iter=2))
    step = TrainStep(_two_layers(), cfg)
    lq, gt = _batch()
    fixed = [p.asnumpy().copy() for p in step.fixed_params]
    compiled_before = set(ms_compile_cache)
    step(lq, gt, frozen=True)
    frozen_graphs = set(ms_compile_cache) - compiled_before
    assert frozen_graphs, "the frozen step compiled no graph"
    assert all(np.array_equal(p.asnumpy(), f) for p, f in zip(step.fixed_params, fixed))  # frozen: not moved
    frozen_step = weakref.ref(step._frozen)

    step(lq, gt, frozen=False)
    gc.collect()
    assert frozen_step() is None, "something still holds the frozen-phase step"
    assert not frozen_graphs & set(ms_compile_cache), "the frozen graph is still compiled"
    assert any(not np.array_equal(p.asnumpy(), f) for p, f in zip(step.fixed_params, fixed))  # now they train
    loss, updated = step(lq, gt, frozen=False)  # the full graph, compiled after the release, keeps working
    assert updated and np.isfinite(loss)
    with pytest.raises(RuntimeError, match="cannot be frozen again"):
        step(lq, gt, frozen=True)
