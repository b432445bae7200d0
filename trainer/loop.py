"""One training step (Charbonnier loss, gradients, all-reduce, Adam), the frozen-keys phase, the run.

KAIR's VRT recipe trains two parameter groups: SpyNet and the deformable-alignment parameters
(``fix_keys``) are frozen for the first ``fix_iter`` iterations and then trained at ``lr * fix_lr_mul``.
Frozen parameters in torch get no gradient, so Adam neither moves them nor counts steps for them. Two
Adam optimisers reproduce that exactly: the frozen step updates only the main one, and the fixed
group's bias correction starts at its first real step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from mindspore import ops

from .config import Config


def charbonnier(pred, target, eps: float):
    """KAIR's CharbonnierLoss: mean(sqrt((x - y)^2 + eps)). Module-level imports only: it runs in graph mode."""
    diff = pred - target
    return ops.sqrt(diff * diff + eps).mean()


def split_params(model, fix_keys: list[str]) -> tuple[list, list]:
    """(main, fixed) trainable parameters; fixed ones contain any of fix_keys in their name (as KAIR)."""
    main, fixed = [], []
    for p in model.trainable_params():
        (fixed if any(k in p.name for k in fix_keys) else main).append(p)
    return main, fixed


def _adam(params: list, cfg: Config, prefix: str):
    import mindspore as ms
    from mindspore import nn

    t = cfg.train
    opt = nn.Adam(params, learning_rate=ms.Tensor(t.lr, ms.float32), beta1=t.betas[0], beta2=t.betas[1],
                  eps=1e-8, weight_decay=t.weight_decay)
    if prefix:  # two optimisers in one process must not share parameter names
        for attr in ("global_step", "learning_rate", "beta1_power", "beta2_power"):
            getattr(opt, attr).name = f"{prefix}{attr}"
    return opt


class TrainStep:
    """Loss and update for one batch; compiled with mindspore.jit when ``graph`` is set.

    With ``amp`` the loss is scaled by MindSpore's DynamicLossScaler: a step whose (all-reduced)
    gradients overflow is skipped, so no rank moves, and the scale halves; it doubles after
    ``scale_window`` clean steps. A fixed scale would either underflow small gradients or turn
    one overflow into NaN weights.
    """

    def __init__(self, model, cfg: Config, world_size: int = 1, amp: bool = False, scale_window: int = 1000):
        import mindspore as ms
        from mindspore import nn

        self.model = model
        self.cfg = cfg
        fix_keys = cfg.train.fix_keys if (cfg.train.fix_iter or cfg.train.fix_lr_mul != 1) else []
        self.main_params, self.fixed_params = split_params(model, fix_keys)
        self.opt_main = _adam(self.main_params, cfg, "")
        self.opt_fixed = _adam(self.fixed_params, cfg, "fixed_") if self.fixed_params else None
        eps = cfg.train.charbonnier_eps
        self.scaler = ms.amp.DynamicLossScaler(cfg.train.loss_scale, 2, scale_window) if amp else None
        if amp:  # unique names: the compiled step holds these next to the optimisers' parameters
            self.scaler.scale_value.name, self.scaler.counter.name = "amp_loss_scale", "amp_good_steps"
        scaler = self.scaler

        def scale(x):
            return scaler.scale(x) if amp else x

        def unscale(x):
            return scaler.unscale(x) if amp else x

        def adjust(finite):
            if amp:
                scaler.adjust(finite)

        def loss_fn(lq, gt):
            out = model(lq)
            return scale(charbonnier(out.astype(ms.float32), gt, eps))

        grad_main = ms.value_and_grad(loss_fn, None, self.opt_main.parameters)
        everything = self.opt_main.parameters + (self.opt_fixed.parameters if self.opt_fixed else ())
        grad_all = ms.value_and_grad(loss_fn, None, everything)
        n_main = len(self.opt_main.parameters)
        reduce_main = reduce_all = None
        if world_size > 1:
            reduce_main = nn.DistributedGradReducer(self.opt_main.parameters, mean=True)
            reduce_all = nn.DistributedGradReducer(everything, mean=True)
        opt_main, opt_fixed = self.opt_main, self.opt_fixed
        all_finite = ms.amp.all_finite

        def step_frozen(lq, gt):
            loss, grads = grad_main(lq, gt)
            if reduce_main is not None:
                grads = reduce_main(grads)  # reduced first: every rank sees the same overflow verdict
            finite = all_finite(grads)
            if finite:
                opt_main(unscale(grads))
            adjust(finite)
            return unscale(loss), finite

        def step_all(lq, gt):
            loss, grads = grad_all(lq, gt)
            if reduce_all is not None:
                grads = reduce_all(grads)
            finite = all_finite(grads)
            if finite:
                grads = unscale(grads)
                opt_main(grads[:n_main])
                if opt_fixed is not None:
                    opt_fixed(grads[n_main:])
            adjust(finite)
            return unscale(loss), finite

        jit = ms.jit if cfg.train.graph else (lambda f: f)
        self._frozen = jit(step_frozen) if self.opt_fixed is not None else None
        self._frozen_ran = False
        self._all = jit(step_all)

    def set_lrs(self, main_lr: float, fixed_lr: float) -> None:
        """Write this iteration's rates into the optimisers' lr Parameters, in place.

        In place (ops.assign), not Parameter.set_data: set_data gives the Parameter a new buffer, while
        an Adam step that already ran (eager or compiled) keeps reading the old one, so every step used
        the rate of the process's first step and a resumed run trained at other rates than a whole one.
        """
        import mindspore as ms

        ops.assign(self.opt_main.learning_rate, ms.Tensor(main_lr, ms.float32))
        if self.opt_fixed is not None:
            ops.assign(self.opt_fixed.learning_rate, ms.Tensor(fixed_lr, ms.float32))

    def __call__(self, lq, gt, frozen: bool) -> tuple[float, bool]:
        """(loss, updated): ``updated`` is False when the gradients overflowed and the step was skipped.

        The first step with ``frozen`` False releases the frozen-phase step (see release_frozen): the
        schedule never freezes fix_keys again after fix_iter.
        """
        if frozen and self.opt_fixed is not None:
            if self._frozen is None:
                raise RuntimeError("the frozen-phase step was released: fix_keys cannot be frozen again")
            fn = self._frozen
            self._frozen_ran = True
        else:
            self.release_frozen()
            fn = self._all
        loss, finite = fn(lq, gt)
        return float(loss.asnumpy()), bool(finite.asnumpy())

    def release_frozen(self) -> None:
        """Drop the frozen-phase step and, in graph mode, the compiled graphs, before the full step compiles.

        Why: MindSpore's executor keeps every compiled graph and its memory for the life of the process,
        whatever Python still refers to, so the frozen graph stayed next to the full one (tiny_cpu went
        past 13 GB at the switch). mindspore.ms_memory_recycle() is the public way to release compiled
        graphs; it releases all of them, so a graph compiled elsewhere (validation) compiles again when
        next used. It runs only when the frozen step has run in this process.
        """
        if self._frozen is None:
            return
        self._frozen = None
        if self._frozen_ran and self.cfg.train.graph:
            import mindspore as ms

            ms.ms_memory_recycle()

    def loss_scale(self) -> float:
        return float(self.scaler.scale_value.asnumpy()) if self.scaler is not None else 1.0

    def optimizer_state(self) -> list[tuple[str, Any]]:
        """(name, Parameter) of every optimiser state tensor, for checkpoints."""
        out = []
        for tag, opt in (("opt_main", self.opt_main), ("opt_fixed", self.opt_fixed)):
            if opt is None:
                continue
            for p in (opt.global_step, opt.beta1_power, opt.beta2_power, *opt.moment1, *opt.moment2):
                out.append((f"{tag}/{p.name}", p))
        if self.scaler is not None:  # the dynamic loss scale is training state too
            out += [("amp/scale_value", self.scaler.scale_value), ("amp/counter", self.scaler.counter)]
        return out


@dataclass
class Meter:
    """Smoothed seconds per iteration and ETA for the log line."""

    total: int
    start_iteration: int
    started: float = 0.0
    last: float = 0.0
    per_iter: float = 0.0

    def tick(self, iteration: int) -> tuple[float, float]:
        now = time.perf_counter()
        if not self.started:
            self.started = self.last = now
        step = now - self.last
        self.last = now
        self.per_iter = step if not self.per_iter else 0.9 * self.per_iter + 0.1 * step
        return self.per_iter, self.per_iter * (self.total - iteration)


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def log_line(iteration: int, total: int, loss: float, lrs: tuple[float, float], per_iter: float, eta: float,
             frozen: bool) -> str:
    return (f"iter {iteration:8d}/{total} loss {loss:.4e} lr {lrs[0]:.3e} lr_fixed {lrs[1]:.3e}"
            f"{' (fix_keys frozen)' if frozen else ''} {per_iter:.2f} s/iter ETA {format_eta(eta)}")


def to_tensor(array: np.ndarray):
    import mindspore as ms

    return ms.Tensor(np.ascontiguousarray(array, dtype=np.float32))


Logger = Callable[[str], None]
