"""Parallel warping: flow-guided modulated deformable convolution (DCNv2 guided by SpyNet flow).

Each frame's feature is aligned to its neighbours: neighbours are first warped by optical flow, then a
deformable convolution samples around the flow with learned residual offsets and modulation masks.
With pa_frames = 2, 4 or 6, one, two or three neighbours on each side are used.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore import dtype as mstype
from mindspore.common.initializer import Uniform, initializer

from .layers import LeakyReLU, constant, conv2d, gather_rows, zero_pad
from .spynet import flow_warp

KERNEL = 3
KERNEL_POSITIONS = KERNEL * KERNEL


@lru_cache(maxsize=32)
def _sample_layout(n: int, g: int, h: int, w: int) -> dict[str, np.ndarray]:
    """Host-made constants of modulated_deform_conv for one shape, all in (N, pixel, group, kernel) order.

    `order`: where each (n, pixel, group, kernel) sample sits in the (n, group, kernel, pixel) layout of
    the offsets and masks; `base_y`/`base_x`: the kernel position's pixel coordinates (y - 1 + ky,
    x - 1 + kx); `first_row`: the row of (n, group, pixel 0) in the input's (n, group, pixel) rows.
    """
    pixels = h * w
    ys, xs = np.divmod(np.arange(pixels), w)
    ky, kx = np.divmod(np.arange(KERNEL_POSITIONS), KERNEL)
    order = np.arange(n * g * KERNEL_POSITIONS * pixels).reshape(n, g, KERNEL_POSITIONS, pixels).transpose(0, 3, 1, 2)
    shape = (n, pixels, g, KERNEL_POSITIONS)
    base_y = np.broadcast_to((ys[:, None, None] + ky[None, None, :] - 1)[None], shape)
    base_x = np.broadcast_to((xs[:, None, None] + kx[None, None, :] - 1)[None], shape)
    first_row = np.broadcast_to((np.arange(n * g).reshape(n, 1, g, 1) * pixels), shape)
    return {
        "order": order.reshape(-1).astype(np.int32),
        "base_y": np.ascontiguousarray(base_y, np.float32),
        "base_x": np.ascontiguousarray(base_x, np.float32),
        "first_row": np.ascontiguousarray(first_row, np.int32),
    }


def _bilinear_columns(
    x: Tensor, dy: Tensor, dx: Tensor, mask: Tensor, layout: dict[str, np.ndarray], g: int
) -> Tensor:
    """Masked bilinear samples of x's groups, as rows (N * pixels, groups * 9 * C/groups).

    dy, dx, mask: (N, pixels, G, 9). Each sample is the sum over its four integer neighbours of
    (bilinear weight * mask) * value, neighbours outside the image counting as zeros (torchvision's rule);
    the values come by row gathers from x laid out as (N, G, pixel) rows of C/G channels, plus one zero row.
    """
    n, c, h, w = x.shape
    rows = n * g * h * w
    values = x.reshape(n * g, c // g, h * w).swapaxes(1, 2).reshape(rows, c // g)
    values = ops.cat((values, ops.zeros((1, c // g), x.dtype)))
    if dy.dtype != mstype.float32:  # positions in float32 (float16 holds integers only up to 2048)
        dy, dx, mask = dy.astype(mstype.float32), dx.astype(mstype.float32), mask.astype(mstype.float32)
    py = constant(layout["base_y"]) + dy
    px = constant(layout["base_x"]) + dx
    y0 = ops.floor(py)
    x0 = ops.floor(px)
    ly = py - y0
    lx = px - x0
    hy = 1.0 - ly
    hx = 1.0 - lx
    y0 = y0.astype(mstype.int32)
    x0 = x0.astype(mstype.int32)
    first_row = constant(layout["first_row"], np.int32)
    total = None
    for cy, cx, weight in ((y0, x0, hy * hx), (y0, x0 + 1, hy * lx), (y0 + 1, x0, ly * hx), (y0 + 1, x0 + 1, ly * lx)):
        inside = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
        row = ops.select(inside, first_row + cy * w + cx, ops.full_like(first_row, rows))
        picked = ops.gather(values, row.reshape(-1), 0)
        part = picked * ops.tile((weight * mask).reshape(-1, 1).astype(x.dtype), (1, c // g))
        total = part if total is None else total + part
    return total.reshape(n * h * w, g * KERNEL_POSITIONS * (c // g))


def modulated_deform_conv(
    x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor, bias: Tensor, deformable_groups: int
) -> Tensor:
    """Modulated deformable 3x3 convolution (stride 1, padding 1), torchvision.ops.deform_conv2d semantics.

    offset: (N, G*9*2, H, W) ordered (group, kernel position, (dy, dx)); mask: (N, G*9, H, W).
    Each input group is bilinearly sampled at its 9 shifted positions (zeros outside, as torchvision),
    weighted by the mask and contracted with the weight in one matrix product. The sampling is written
    out (row gathers of the four neighbours): MindSpore 2.10's CPU grid_sample took 2-3x longer, and its
    own DeformableConv2d far longer still.
    """
    n, c, h, w = x.shape
    g = deformable_groups
    out_channels = weight.shape[0]
    layout = _sample_layout(n, g, h, w)
    order = layout["order"]
    dy, dx = ops.split(offset.reshape(n * g * KERNEL_POSITIONS, 2, h * w), 1, axis=1)
    shape = (n, h * w, g, KERNEL_POSITIONS)
    dy = gather_rows(dy, order, 1).reshape(shape)
    dx = gather_rows(dx, order, 1).reshape(shape)
    mask = gather_rows(mask, order, 1).reshape(shape)
    cols = _bilinear_columns(x, dy, dx, mask, layout, g).reshape(n, h * w, -1)
    # weight (O, C, 3, 3) read in the columns' (group, kernel position, channel) order
    kernel = weight.reshape(out_channels, g, c // g, KERNEL_POSITIONS).transpose(0, 1, 3, 2).reshape(out_channels, -1)
    out = ops.bmm(cols, ops.tile(kernel.swapaxes(0, 1).unsqueeze(0), (n, 1, 1)))  # (N, pixels, O)
    return ops.bias_add(out.swapaxes(1, 2), bias).reshape(n, out_channels, h, w)


class FlowGuidedDeformConv(nn.Cell):
    """DCNv2 whose offsets are the optical flow plus a bounded learned residual (reference DCNv2PackFlowGuided).

    The input holds pa_frames//2 neighbour features side by side; like torchvision, the convolution is
    grouped with one group per neighbour, and the deformable groups are split evenly between them.
    """

    def __init__(self, channels: int, deformable_groups: int, max_residue_magnitude: float, pa_frames: int):
        super().__init__()
        self.channels = channels
        self.deformable_groups = deformable_groups
        self.max_residue_magnitude = float(max_residue_magnitude)
        self.pa_frames = pa_frames
        self.neighbours = pa_frames // 2
        if deformable_groups % self.neighbours or channels % self.neighbours:
            raise ValueError(
                f"deformable_groups ({deformable_groups}) and channels ({channels}) must be divisible by "
                f"pa_frames/2 ({self.neighbours})"
            )
        stdv = 1.0 / math.sqrt(channels * KERNEL_POSITIONS)
        self.weight = Parameter(initializer(Uniform(stdv), (channels, channels, KERNEL, KERNEL)), name="weight")
        self.bias = Parameter(initializer("zeros", (channels,)), name="bias")
        offset_in = (1 + self.neighbours) * channels + pa_frames
        last = conv2d(channels, 3 * KERNEL_POSITIONS * deformable_groups, 3, 1)
        last.weight.set_data(initializer("zeros", last.weight.shape))
        last.bias.set_data(initializer("zeros", last.bias.shape))
        self.conv_offset = nn.SequentialCell(
            [
                conv2d(offset_in, channels, 3, 1),
                LeakyReLU(0.1),
                conv2d(channels, channels, 3, 1),
                LeakyReLU(0.1),
                conv2d(channels, channels, 3, 1),
                LeakyReLU(0.1),
                last,
            ]
        )

    def construct(self, x: Tensor, warped: list[Tensor], current: Tensor, flows: list[Tensor]) -> Tensor:
        """x: (N, pa/2*C, H, W) neighbours; warped: their flow-warped copies; flows: (N, 2, H, W) each."""
        out = self.conv_offset(ops.cat(list(warped) + [current] + list(flows), axis=1))
        o1, o2, mask = ops.chunk(out, 3, axis=1)
        residual = self.max_residue_magnitude * ops.tanh(ops.cat((o1, o2), axis=1))
        per_neighbour = ops.chunk(residual, self.neighbours, axis=1)
        mask = ops.sigmoid(mask)
        masks = ops.chunk(mask, self.neighbours, axis=1)
        inputs = ops.chunk(x, self.neighbours, axis=1)
        weights = ops.chunk(self.weight, self.neighbours, axis=0)
        biases = ops.chunk(self.bias, self.neighbours, axis=0)
        groups = self.deformable_groups // self.neighbours
        outputs = []
        for i in range(self.neighbours):
            # flow (dx, dy) flipped to (dy, dx) and repeated for every (group, kernel position)
            flow_yx = ops.flip(flows[i], (1,))
            offset = per_neighbour[i] + ops.tile(flow_yx, (1, groups * KERNEL_POSITIONS, 1, 1))
            outputs.append(modulated_deform_conv(inputs[i], offset, masks[i], weights[i], biases[i], groups))
        return outputs[0] if self.neighbours == 1 else ops.cat(outputs, axis=1)


def _frames_to_batch(x: Tensor) -> Tensor:
    """(N, T, ...) -> (N*T, ...)."""
    return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def _pad_time(x: Tensor, before: int, after: int) -> Tensor:
    """Zero frames added before/after along axis 1 (layers.zero_pad says why not ops.pad)."""
    return zero_pad(x, 1, before, after)


def align_features(
    deform: FlowGuidedDeformConv, x: Tensor, flows_backward: list[Tensor], flows_forward: list[Tensor]
) -> tuple[Tensor, Tensor]:
    """Align every frame of x (N, D, C, H, W) to its next (backward) and previous (forward) neighbours.

    flows_backward[k] / flows_forward[k] hold the flows to the neighbour k+1 frames away,
    (N, D-1-k, 2, H, W). Missing neighbours near the ends are zero features with zero flow, as in the
    reference. All 2*(D-1) alignments go through the deformable convolution as one batch.
    Returns two tensors shaped like x; the end frames with no neighbour are zero.
    """
    n, d, c, h, w = x.shape
    hops = deform.pa_frames // 2
    back_x = _pad_time(x, 0, hops)
    fwd_x = _pad_time(x, hops, 0)
    neighbours, flows = [], []
    for k in range(hops):
        back_feature = back_x[:, 1 + k : d + k]
        fwd_feature = fwd_x[:, hops - k : hops - k + d - 1]
        neighbours.append(ops.cat((back_feature, fwd_feature), axis=1))
        back_flow = _pad_time(flows_backward[k], 0, k)
        fwd_flow = _pad_time(flows_forward[k], k, 0)
        flows.append(_frames_to_batch(ops.cat((back_flow, fwd_flow), axis=1)))
    neighbours = [_frames_to_batch(f) for f in neighbours]
    current = _frames_to_batch(ops.cat((x[:, : d - 1], x[:, 1:]), axis=1))
    warped = [flow_warp(f, fl.transpose(0, 2, 3, 1)) for f, fl in zip(neighbours, flows)]
    aligned = deform(ops.cat(neighbours, axis=1), warped, current, flows)
    aligned = aligned.reshape(n, 2 * (d - 1), c, h, w)
    zero = ops.zeros_like(x[:, :1])
    backward = ops.cat((aligned[:, : d - 1], zero), axis=1)
    forward = ops.cat((zero, aligned[:, d - 1 :]), axis=1)
    return backward, forward
