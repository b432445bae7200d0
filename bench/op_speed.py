"""Seconds per MindSpore CPU op at the shapes of one reds_6f stage-8 block (and of SpyNet's widest 7x7 layer),
against numpy on the same data.

    .venv/bin/python bench/op_speed.py              # (1, 6, 64, 64, 180) tokens, 6x8x8 windows, 6 heads
    .venv/bin/python bench/op_speed.py --repeats 5

Why: MindSpore 2.10's CPU matrix products run at or near numpy's speed, but some of its copies and
elementwise kernels do not, and which form of an op is used matters more than the op. This prints, op by
op, where MindSpore loses (Transpose, a broadcasting Add, a product against a materialised k^T, erf) next
to the forms the model uses instead (row gathers, Tile + Add, BiasAdd, BatchMatMul with transpose_b,
a tiled weight in BatchMatMul, and for inference's convolutions an im2col by row gather). Each line is the
median of --repeats calls after one warm-up, eager mode, results copied to the host. "ratio" is numpy's
time over MindSpore's (< 1: MindSpore is slower); the numpy column is the plain numpy way to the same
numbers.
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

    from vrt_engine.model.attention import head_gather_indices, window_gather_indices, window_partition
    from vrt_engine.model.layers import add_tiled, batched_weight_product, conv2d_matmul, conv2d_rows, gather_rows

    tokens = rng.random((1, 6, 64, 64, 180), dtype=np.float32)
    flat = tokens.reshape(-1, 180)
    weight = rng.random((180, 540), dtype=np.float32)
    heads = rng.random((64, 384, 6, 30), dtype=np.float32)
    q = rng.random((384, 384, 30), dtype=np.float32)
    k_t = rng.random((384, 30, 384), dtype=np.float32)
    scores = rng.random((384, 384, 384), dtype=np.float32)
    hidden = rng.random((24576, 360), dtype=np.float32)
    attn = rng.random((64, 6, 384, 384), dtype=np.float32)
    bias = rng.random((1, 6, 384, 384), dtype=np.float32)
    q_heads = rng.random((384, 384, 30), dtype=np.float32)
    conv_out = rng.random((10, 120, 4096), dtype=np.float32)
    conv_bias = rng.random((120,), dtype=np.float32)
    conv_weight = rng.random((120, 2178), dtype=np.float32)
    conv_cols = rng.random((10, 2178, 4096), dtype=np.float32)
    order, _ = window_gather_indices((1, 6, 64, 64), (6, 8, 8), (0, 0, 0))
    split, _ = head_gather_indices(64, 384, 6, False)
    qkv = rng.random((64, 384, 540), dtype=np.float32)
    image = rng.random((2, 64, 32, 32), dtype=np.float32)
    spynet_in = rng.random((10, 64, 64, 64), dtype=np.float32)  # SpyNet's third 7x7 layer, 10 frame pairs
    spynet_kernel = rng.random((32, 64, 7, 7), dtype=np.float32)
    spynet_bias = np.zeros(32, np.float32)
    kernel = rng.random((64, 64, 3, 3), dtype=np.float32)

    def numpy_conv(x, w):  # 'same' padding: windows of the padded input against the kernel
        p = w.shape[-1] // 2
        padded = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, w.shape[-2:], (2, 3))
        return np.einsum("nchwij,ocij->nohw", windows, w, optimize=True)

    def numpy_conv_channels_last(x, w):
        return numpy_conv(x.transpose(0, 3, 1, 2), w).transpose(0, 2, 3, 1)

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
            "window partition, 6-axis permutation",
            (tokens,),
            lambda x: window_partition(x, (6, 8, 8)),
            lambda x: window_partition(x, (6, 8, 8)),
        ),
        (
            "window partition, row gather (ours)",
            (tokens,),
            lambda x: gather_rows(x, order, 180),
            lambda x: x.reshape(-1, 180)[order],
        ),
        ("head split (0, 2, 1, 3) of 64x384x6x30", (heads,), head_split, head_split),
        (
            "q, k, v head split, row gather (ours)",
            (qkv,),
            lambda x: gather_rows(x, split, 30),
            lambda x: x.reshape(-1, 30)[split],
        ),
        (
            "q @ k^T, k^T copied (swapaxes) first",
            (q_heads, q_heads),
            lambda a, b: ops.matmul(a, b.swapaxes(-2, -1)),
            lambda a, b: a @ b.swapaxes(-2, -1),
        ),
        (
            "q @ k^T, BatchMatMul(transpose_b) (ours)",
            (q_heads, q_heads),
            ops.BatchMatMul(transpose_b=True),
            lambda a, b: a @ b.swapaxes(-2, -1),
        ),
        ("bias + scores, broadcasting Add", (attn, bias), lambda a, b: a + b, lambda a, b: a + b),
        ("bias + scores, Tile + Add (ours)", (attn, bias), add_tiled, lambda a, b: a + b),
        (
            "conv bias, broadcasting Add (10x120x4096)",
            (conv_out, conv_bias),
            lambda a, b: a + b.reshape(1, -1, 1),
            lambda a, b: a + b.reshape(1, -1, 1),
        ),
        ("conv bias, BiasAdd (ours)", (conv_out, conv_bias), ops.bias_add, lambda a, b: a + b.reshape(1, -1, 1)),
        ("conv 120x2178 @ 10x2178x4096, MatMul", (conv_weight, conv_cols), ops.matmul, np.matmul),
        ("conv, tiled weight in BatchMatMul (ours)", (conv_weight, conv_cols), batched_weight_product, np.matmul),
        (
            "conv 64->64 3x3 on 2x32x32, ops.conv2d",
            (image, kernel),
            lambda x, w: ops.conv2d(x, w, pad_mode="pad", padding=1),
            numpy_conv,
        ),
        (
            "the same, unfold + BatchMatMul (ours)",
            (image, kernel),
            lambda x, w: conv2d_matmul(x, w, None, 1),
            numpy_conv,
        ),
        (
            "SpyNet 64->32 7x7 on 10x64x64, unfold + BMM",
            (spynet_in, spynet_kernel),
            lambda x, w: conv2d_matmul(x, w, None, 3),
            numpy_conv,
        ),
        (
            "the same channels last, row gather (ours)",
            (np.ascontiguousarray(spynet_in.transpose(0, 2, 3, 1)), spynet_kernel, spynet_bias),
            conv2d_rows,
            lambda x, w, b: numpy_conv_channels_last(x, w),
        ),
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
