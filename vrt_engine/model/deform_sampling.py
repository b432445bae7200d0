"""The modulated deformable 3x3 convolution for CPU inference: bilinear sampling by row gathers.

Why: MindSpore 2.10's CPU grid_sample was most of the built-in model's time (parallel warping, 44 % of
a forward in bench/stage_times.py; at stage 1's shape grid_sample alone took 189 ms of the deformable
convolution's 185-250 ms, single-threaded as a worker runs). Here every sampling point's four neighbours
are picked by row gathers of channels-last features (near memory speed), weighted by their bilinear
weights times the modulation mask, and the columns go into one matrix product, as in
alignment.modulated_deform_conv. Same numbers to float32 rounding (torchvision's deform_conv2d:
zeros outside the frame, a point at or beyond one pixel outside reads zero). Training keeps
alignment.modulated_deform_conv (a gather's gradient is a scatter-add, slower; layers.conv2d_rows).
"""

from __future__ import annotations

import numpy as np
from mindspore import Tensor, ops

from .layers import _PRODUCT_A_TRANSPOSED, _PRODUCT_B_TRANSPOSED, cached_constant, gather_by, transpose_last

KERNEL_POSITIONS = 9  # as alignment.KERNEL_POSITIONS (alignment imports this module)


def _tap_positions(n: int, h: int, w: int, groups: int, axis: int) -> np.ndarray:
    """(n, H*W, groups*9): the y (axis 0) or x (axis 1) of every kernel tap of every pixel before its offset."""
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    along = (ys, xs)[axis].reshape(-1, 1, 1)
    shift = (np.divmod(np.arange(KERNEL_POSITIONS), 3)[axis] - 1).astype(np.float32)
    return np.broadcast_to(along + shift, (n, h * w, groups, KERNEL_POSITIONS)).reshape(n, h * w, -1)


def _group_rows(n: int, h: int, w: int, groups: int) -> np.ndarray:
    """(n, H*W, groups*9): for every sampling point, the padded table's row of its frame and group at
    y0 = x0 = 0 (y0 and x0 then add (W+3)*groups and groups per step)."""
    frame = np.arange(n, dtype=np.int64)[:, None, None, None] * ((h + PAD) * (w + PAD) * groups)
    group = np.arange(groups, dtype=np.int64)[None, None, :, None] + (w + PAD) * groups + groups
    rows = np.broadcast_to(frame + group, (n, h * w, groups, KERNEL_POSITIONS))
    return rows.reshape(n, h * w, -1)


def _padded_rows(n: int, h: int, w: int, groups: int) -> np.ndarray:
    """Rows of (n, H+3, W+3, groups) channels-last features, zero-padded by 1 before and 2 after, taken
    from (n*H*W*groups) rows; n*H*W*groups names an extra zero row."""
    total = n * h * w * groups
    ids = np.arange(total, dtype=np.int64).reshape(n, h, w, groups)
    return np.pad(ids, ((0, 0), (1, 2), (1, 2), (0, 0)), constant_values=total).reshape(-1)


def _pair_selection(planes: int, which: int) -> np.ndarray:
    """(1, 2*planes, planes): picks the dy (which 0) or dx (1) of offsets ordered (plane, (dy, dx))."""
    pick = np.zeros((1, 2 * planes, planes), np.float32)
    pick[0, 2 * np.arange(planes) + which, np.arange(planes)] = 1.0
    return pick


PAD = 3  # the table's padding: 1 row and column before, 2 after (modulated_deform_conv_gathered says why)
tap_positions = cached_constant(_tap_positions, np.float32)
group_rows = cached_constant(_group_rows, np.float32)
padded_rows = cached_constant(_padded_rows)
pair_selection = cached_constant(_pair_selection, np.float32)


def rows_fit(n: int, h: int, w: int, groups: int) -> bool:
    """Whether the padded table's row numbers stay exact in float32 (below 2**24) at this size."""
    return n * (h + PAD) * (w + PAD) * groups < 2**24


def modulated_deform_conv_gathered(
    x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor, bias: Tensor, deformable_groups: int
) -> Tensor:
    """alignment.modulated_deform_conv with one convolution group, for inference on the CPU.

    offset: (N, G*9*2, H, W) ordered (group, kernel position, (dy, dx)); mask: (N, G*9, H, W);
    weight: (O, C, 3, 3). Sampling points are laid out (N, pixel, group, kernel position), so the
    picked rows form each pixel's (group, position, channel) columns for the product.
    """
    n, c, h, w = x.shape
    g = deformable_groups
    per_group = c // g
    points = g * KERNEL_POSITIONS
    out_channels = weight.shape[0]
    # offsets and masks to (N, pixel, group*9) by exact 0/1 products (no Transpose: layers.transpose_last)
    # positions, weights and row numbers in float32 whatever x's precision (float16 cannot count rows)
    offsets = offset.reshape(n, 2 * points, h * w).astype(np.float32)
    positions = []
    for axis, size in ((0, h), (1, w)):
        pick = ops.tile(pair_selection(points, axis), (n, 1, 1))
        taps = tap_positions(n, h, w, g, axis)
        # clamped to [-1, size]: a point at or beyond one pixel outside then reads only zero padding,
        # which is what torchvision gives it (zero), with no test per point
        positions.append(ops.clamp(taps + _PRODUCT_A_TRANSPOSED(offsets, pick), -1.0, float(size)))
    py, px = positions
    y0, x0 = ops.floor(py), ops.floor(px)
    ly, lx = py - y0, px - x0
    modulation = transpose_last(mask.reshape(n, points, h * w).astype(np.float32))
    top, bottom = modulation * (1.0 - ly), modulation * ly
    weights = (top * (1.0 - lx), top * lx, bottom * (1.0 - lx), bottom * lx)
    # the top-left neighbour's row in the padded table (y0, x0 >= -1 index its rows from 0), counted in
    # float32 (exact below 2**24 rows: rows_fit, which the caller checks) and cast once per neighbour: MindSpore
    # 2.10's CPU int32 Mul and Add keep memory outside the pool (bench/graph_memory.py int_arithmetic)
    top_left = (y0 * float((w + PAD) * g) + x0 * float(g)) + group_rows(n, h, w, g)
    rows = transpose_last(x.reshape(n, c, h * w)).reshape(-1, per_group)
    rows = gather_by(ops.cat((rows, ops.zeros((1, per_group), x.dtype))), padded_rows(n, h, w, g), per_group)
    # each weight repeated over the group's channels by a product with ones: a broadcasting Mul keeps
    # memory outside the pool, a Tile is twice as slow (bench/graph_memory.py broadcast_mul_last)
    ones = ops.ones((1, per_group), x.dtype)
    # one neighbour at a time (ops.depend orders them), so that only one neighbour's columns are alive
    cols = None
    for weight_k, step in zip(weights, (0, g, (w + PAD) * g, (w + PAD + 1) * g)):
        index = top_left + float(step)
        if cols is not None:
            index, weight_k = ops.depend(index, cols), ops.depend(weight_k, cols)
        picked = ops.gather(rows, index.astype(np.int32).reshape(-1), 0)
        term = picked * ops.matmul(weight_k.reshape(-1, 1).astype(x.dtype), ones)
        cols = term if cols is None else cols + term
    cols = cols.reshape(n, h * w, points * per_group)
    # weight (O, C, 3, 3) to (O, group, position, channel), the columns' order
    taps_weight = weight.reshape(out_channels, g, per_group, KERNEL_POSITIONS).swapaxes(2, 3)
    taps_weight = taps_weight.reshape(1, out_channels, points * per_group)
    out = _PRODUCT_B_TRANSPOSED(ops.tile(taps_weight, (n, 1, 1)), cols)
    return ops.bias_add(out, bias).reshape(n, out_channels, h, w)
