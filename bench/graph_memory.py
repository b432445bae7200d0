"""Which operations make a compiled MindSpore graph keep its intermediates alive (CPU, MindSpore 2.10).

    .venv/bin/python bench/graph_memory.py                  # every operation below
    .venv/bin/python bench/graph_memory.py --ops div sin    # some of them

A chain of 12 cells, each adding f(x) to a 96 MB tensor, is compiled with `mindspore.jit` and run once;
each operation runs in a fresh process and its peak resident memory is printed. A graph that frees what
it no longer needs stays near 1 GB whatever the chain's length; one that keeps everything grows by two to
four such tensors per cell. Why it matters: the model avoids the operations that pin memory where it
can (no Div: `vrt_engine/model/layers.py` gelu; no Transpose: transpose_by_product, layers.transpose_last;
no broadcasting Add: layers.add_tiled), and the runner sizes tiles for what is left,
`vrt_engine/runner.py` GRAPH_BYTES_PER_PIXEL_FRAME_PER_DIM. "pool peak MB" is
MindSpore's own memory pool (MS_DEV_RUNTIME_CONF=memory_statistics): it stays at two to four tensors for
every operation but unfold (its im2col output is nine), so what grows is held outside the pool, by the
kernels (measured 2026-12-07, issue 23).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys

import numpy as np
from mindspore import Tensor, jit, nn, ops

CELLS = 12
SHAPE = (6, 16, 500, 500)  # 96 MB of float32


def sin(x):
    return ops.sin(x)


def mul_by_constant(x):
    return x * 0.7071067811865476


def div_by_constant(x):
    return x / 1.4142135623730951


def div_by_tensor(x):
    return x / (x + 2.0)


def gelu(x):
    return ops.gelu(x, approximate="none")


def gelu_as_products(x):
    return x * 0.5 * (1.0 + ops.erf(x * 0.7071067811865476))


def reciprocal(x):
    return x * ops.reciprocal(x + 2.0)


def split_and_concat(x):
    a, b = ops.split(x, 8, axis=1)
    return ops.cat((b, a), axis=1)


def flip(x):
    return ops.flip(x, (1,))


def grid_sample(x):
    return ops.grid_sample(x, ops.zeros((6, 500, 500, 2), x.dtype), align_corners=True)


def transpose(x):
    return x.transpose(0, 1, 3, 2)


EYE = Tensor(np.tile(np.eye(16, dtype=np.float32)[None], (SHAPE[0], 1, 1)))


def transpose_by_product(x):
    """The CPU form's transpose (vrt_engine/model/layers.py transpose_last): a product with an identity."""
    rows = x.reshape(SHAPE[0], SHAPE[1], -1)
    return ops.BatchMatMul(transpose_a=True)(rows, EYE).reshape(x.shape)


CHANNEL_BIAS = Tensor(np.ones((1, SHAPE[1], 1, 1), np.float32))


def broadcast_add(x):
    return x + CHANNEL_BIAS


WEIGHT = Tensor(np.full((16, 16, 3, 3), 0.01, np.float32))


def conv2d(x):
    return ops.conv2d(x, WEIGHT, pad_mode="pad", padding=1)


def unfold(x):
    return ops.unfold(x, (3, 3), padding=1)[:, :16].reshape(x.shape)


SQUARE = Tensor(np.full((16, 16), 0.05, np.float32))
BIAS = Tensor(np.full((16,), 0.1, np.float32))
GAMMA, BETA = Tensor(np.ones((16,), np.float32)), Tensor(np.zeros((16,), np.float32))
ROWS = Tensor(np.random.default_rng(0).permutation(SHAPE[0] * SHAPE[2] * SHAPE[3] * SHAPE[1] // 16).astype(np.int64))


def matmul(x):
    return ops.matmul(x.reshape(-1, 16), SQUARE).reshape(x.shape)


def batch_matmul(x):
    weights = ops.tile(SQUARE.reshape(1, 16, 16), (x.size // 4000, 1, 1))
    return ops.BatchMatMul()(x.reshape(-1, 250, 16), weights).reshape(x.shape)


def bias_add(x):
    return ops.bias_add(x, BIAS)


def tile(x):
    return ops.tile(x[:, :8], (1, 2, 1, 1))


def layer_norm(x):
    return ops.LayerNorm(begin_norm_axis=-1, begin_params_axis=-1)(x.reshape(-1, 16), GAMMA, BETA)[0].reshape(x.shape)


def gather_rows(x):
    return ops.gather(x.reshape(-1, 16), ROWS, 0).reshape(x.shape)


def softmax(x):
    return ops.softmax(x, -1)


def erf(x):
    return ops.erf(x)


def maximum(x):
    return ops.maximum(x, x * 0.5)


def floor(x):
    return ops.floor(x)


def clamp(x):
    return ops.clamp(x, -1.0, 2.0)


def cast_to_int_and_back(x):
    return (x * 4.0).astype(np.int32).astype(x.dtype)


def int_arithmetic(x):
    """What deform_sampling does to make row indices: int32 products and sums."""
    i = x.astype(np.int32)
    return ((i + 1) * 7 + i).astype(x.dtype)


def broadcast_mul_last(x):
    """(rows, C) * (rows, 1), deform_sampling's weighting of gathered rows."""
    rows = x.reshape(-1, 16)
    return (rows * rows[:, :1]).reshape(x.shape)


def gather_rows_computed(x):
    """A row gather whose index is computed in the graph (deform_sampling), not a constant."""
    index = ROWS.astype(np.int32) + (x.reshape(-1, 16)[:, 0] * 0.0).astype(np.int32)
    return ops.gather(x.reshape(-1, 16), index, 0).reshape(x.shape)


OPERATIONS = {
    f.__name__: f
    for f in (
        sin,
        mul_by_constant,
        div_by_constant,
        div_by_tensor,
        gelu,
        gelu_as_products,
        reciprocal,
        split_and_concat,
        flip,
        grid_sample,
        transpose,
        transpose_by_product,
        broadcast_add,
        conv2d,
        unfold,
        matmul,
        batch_matmul,
        bias_add,
        tile,
        layer_norm,
        gather_rows,
        softmax,
        erf,
        maximum,
        floor,
        clamp,
        cast_to_int_and_back,
        int_arithmetic,
        broadcast_mul_last,
        gather_rows_computed,
    )
}


class Block(nn.Cell):
    """x + f(x)."""

    def __init__(self, f):
        super().__init__()
        self.f = f

    def construct(self, x):
        return x + self.f(x)


class Chain(nn.Cell):
    def __init__(self, f):
        super().__init__()
        self.blocks = nn.CellList([Block(f) for _ in range(CELLS)])

    def construct(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def measure(name: str) -> int:
    """Peak resident memory (MB) of compiling and running the chain with f = OPERATIONS[name]."""
    chain = Chain(OPERATIONS[name])
    chain.set_train(False)
    jit(chain.construct)(Tensor(np.zeros(SHAPE, np.float32))).asnumpy()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", nargs="+", choices=list(OPERATIONS), default=list(OPERATIONS))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(measure(args.one))
        return
    print(f"{CELLS} cells, each x + f(x) on a {SHAPE} float32 tensor (96 MB), one compiled graph, CPU")
    print(f"{'f(x)':18} {'peak MB':>8} {'pool peak MB':>12}")
    for name in args.ops:
        env = dict(os.environ, MS_DEV_RUNTIME_CONF="memory_statistics:True")
        done = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True, env=env)
        lines = [line for line in done.stdout.splitlines() if line.strip().isdigit()]
        peak = lines[-1].strip() if done.returncode == 0 and lines else f"failed ({done.returncode})"
        pool = re.search(r"dynamic memory pool .*?peak used mem:(\d+)M", done.stdout + done.stderr)
        print(f"{name:18} {peak:>8} {pool.group(1) if pool else '?':>12}", flush=True)


if __name__ == "__main__":
    main()
