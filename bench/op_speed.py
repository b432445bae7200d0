"""Seconds per MindSpore CPU op at the shapes of one reds_6f stage-8 block, against numpy on the same data.

    .venv/bin/python bench/op_speed.py              # (1, 6, 64, 64, 180) tokens, 6x8x8 windows, 6 heads
    .venv/bin/python bench/op_speed.py --repeats 5

Why: reds_6f in eager mode is about 4x slower than the reference PyTorch VRT on this CPU
(bench/model_speed.py) although its matrix products run at or near numpy's speed. This prints, op by op,
where MindSpore 2.10's CPU kernels lose: the permutations of window partition and head split, and
erf (exact GELU). Each line is the median of --repeats calls after one warm-up, eager mode, results
copied to the host. "ratio" is numpy's time over MindSpore's (< 1: MindSpore is slower).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np


def median_seconds(fn: Callable[..., object], inputs: list, repeats: int) -> float:
    """Median wall time of fn(*inputs) over `repeats` calls after one warm-up call."""
    fn(*inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cases(rng: np.random.Generator) -> list[tuple[str, tuple, Callable, Callable]]:
    """(name, arrays, MindSpore function, numpy function) for each op of a stage-8 block."""
    from mindspore import ops

    from vrt_engine.model.attention import window_partition

    tokens = rng.random((1, 6, 64, 64, 180), dtype=np.float32)
    flat = tokens.reshape(-1, 180)
    weight = rng.random((180, 540), dtype=np.float32)
    heads = rng.random((64, 384, 6, 30), dtype=np.float32)
    q = rng.random((384, 384, 30), dtype=np.float32)
    k_t = rng.random((384, 30, 384), dtype=np.float32)
    scores = rng.random((384, 384, 384), dtype=np.float32)
    hidden = rng.random((24576, 360), dtype=np.float32)

    def partition8(x):
        x = x.reshape(1, 1, 6, 8, 8, 8, 8, 180).transpose(0, 1, 3, 5, 2, 4, 6, 7)
        return x.reshape(-1, 384, 180)

    def head_split(x):
        return x.transpose(0, 2, 1, 3)

    def numpy_softmax(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def numpy_erf(x):  # numpy has no erf: the same permutation-free elementwise pass, tanh stands in
        return np.tanh(x)

    return [
        ("qkv projection (24576x180 @ 180x540)", (flat, weight), ops.matmul, np.matmul),
        ("scores q @ k^T (384 x 384x30 @ 30x384)", (q, k_t), ops.matmul, np.matmul),
        ("weights @ v (384 x 384x384 @ 384x30)", (scores, q), ops.matmul, np.matmul),
        ("softmax over 384 (56.6 M values)", (scores,), lambda x: ops.softmax(x, axis=-1), numpy_softmax),
        ("window partition, 8-axis permutation", (tokens,), partition8, partition8),
        (
            "window partition, 6-axis (ours)",
            (tokens,),
            lambda x: window_partition(x, (6, 8, 8)),
            lambda x: window_partition(x, (6, 8, 8)),
        ),
        ("head split (0, 2, 1, 3) of 64x384x6x30", (heads,), head_split, head_split),
        ("erf of 24576x360 (numpy: tanh)", (hidden,), ops.erf, numpy_erf),
        ("multiply 24576x360", (hidden,), lambda x: x * x, lambda x: x * x),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the warm-up (default 3)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")
    import mindspore as ms

    from vrt_engine.devices import Device, activate

    ms.set_context(mode=ms.PYNATIVE_MODE)
    activate(Device("cpu"))  # as the engine runs: blocking eager launch
    rng = np.random.default_rng(0)
    print(f"MindSpore {ms.__version__} CPU eager, numpy {np.__version__}; median of {args.repeats} calls")
    print(f"{'op':44} {'MindSpore s':>11} {'numpy s':>9} {'ratio':>6}")
    for name, arrays, ms_fn, np_fn in cases(rng):
        ms_s = median_seconds(lambda *t, f=ms_fn: f(*t).asnumpy(), [ms.Tensor(a) for a in arrays], args.repeats)
        np_s = median_seconds(lambda *a, f=np_fn: np.ascontiguousarray(f(*a)), list(arrays), args.repeats)
        print(f"{name:44} {ms_s:11.3f} {np_s:9.3f} {np_s / ms_s:6.2f}", flush=True)


if __name__ == "__main__":
    main()
