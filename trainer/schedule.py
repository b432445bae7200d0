"""Learning rates per iteration, as KAIR drives torch's CosineAnnealingWarmRestarts.

KAIR calls ``scheduler.step(current_step)`` before each optimisation step, so iteration i (1-based)
runs at the closed-form rate for epoch i. The SpyNet/deformable group starts from lr * fix_lr_mul
(its own base rate); eta_min is shared. A pure function of the iteration: resume needs no state.
"""

from __future__ import annotations

import math


def cosine_restart_lr(iteration: int, base_lr: float, period: int, eta_min: float, t_mult: int = 1) -> float:
    """torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0=period, T_mult, eta_min) at epoch ``iteration``."""
    if t_mult == 1:
        t_cur, t_i = iteration % period, period
    else:
        n = int(math.log(iteration / period * (t_mult - 1) + 1, t_mult)) if iteration >= period else 0
        t_cur = iteration - period * (t_mult**n - 1) / (t_mult - 1)
        t_i = period * t_mult**n
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def group_lrs(iteration: int, train_cfg) -> tuple[float, float]:
    """(main group lr, SpyNet/deformable group lr) for one iteration."""
    t = train_cfg
    main = cosine_restart_lr(iteration, t.lr, t.periods, t.eta_min, t.restart_weight)
    fixed = cosine_restart_lr(iteration, t.lr * t.fix_lr_mul, t.periods, t.eta_min, t.restart_weight)
    return main, fixed


def is_frozen(iteration: int, train_cfg) -> bool:
    """KAIR freezes fix_keys while current_step < fix_iter and trains everything from fix_iter on."""
    return bool(train_cfg.fix_iter) and bool(train_cfg.fix_keys) and iteration < train_cfg.fix_iter
