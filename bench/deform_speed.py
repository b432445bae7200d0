"""CPU time of the forms of the modulated deformable convolution (grid_sample per kernel position, row
gathers as CPU inference runs it (model/deform_sampling.py), MindSpore's fused ops.deformable_conv2d)
at a stage's shape, and their differences from the first.

    python bench/deform_speed.py [--channels 120 --groups 12 --batch 10 --size 64]
    python bench/deform_speed.py --channels 16 --groups 2 --graph --threads 1   # tiny's stage 1, as a worker
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--channels", type=int, default=120)
    p.add_argument("--groups", type=int, default=12)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--graph", action="store_true", help="compile each form with mindspore.jit (as inference runs)")
    p.add_argument("--threads", type=int, help="runtime threads (a model worker runs with 1)")
    a = p.parse_args()
    import mindspore as ms

    from vrt_engine.devices import Device, activate
    from vrt_engine.model.alignment import modulated_deform_conv, modulated_deform_conv_fused
    from vrt_engine.model.deform_sampling import modulated_deform_conv_gathered

    activate(Device("cpu"))
    if a.threads:
        ms.set_context(runtime_num_threads=a.threads)
    rng = np.random.default_rng(0)
    n, c, g, s = a.batch, a.channels, a.groups, a.size
    x = ms.Tensor(rng.random((n, c, s, s), dtype=np.float32))
    offset = ms.Tensor((rng.standard_normal((n, g * 18, s, s)) * 2).astype(np.float32))
    mask = ms.Tensor(rng.random((n, g * 9, s, s), dtype=np.float32))
    weight = ms.Tensor((rng.standard_normal((c, c, 3, 3)) * 0.05).astype(np.float32))
    bias = ms.Tensor(np.zeros(c, np.float32))
    outs = {}
    forms = (
        ("grid_sample (CPU form)", modulated_deform_conv),
        ("row gathers (CPU inference)", modulated_deform_conv_gathered),
        ("fused", modulated_deform_conv_fused),
    )
    for name, form in forms:
        fn = ms.jit(form, static_args=5) if a.graph else form
        outs[name] = fn(x, offset, mask, weight, bias, g).asnumpy()
        start = time.perf_counter()
        for _ in range(a.repeat):
            fn(x, offset, mask, weight, bias, g).asnumpy()
        print(f"{name}: {(time.perf_counter() - start) / a.repeat:.3f} s per call on {(n, c, s, s)}, {g} groups")
    first = next(iter(outs.values()))
    for name, out in list(outs.items())[1:]:
        print(f"{name}: max |difference| from the first {np.abs(out - first).max():.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
