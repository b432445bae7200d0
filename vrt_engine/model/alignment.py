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
from mindspore.common.initializer import Uniform, initializer

from .deform_sampling import modulated_deform_conv_gathered, rows_fit
from .layers import LeakyReLU, add_tiled, channels_last, constant, conv2d, gather_rows, zero_pad
from .spynet import flow_warp

KERNEL = 3
KERNEL_POSITIONS = KERNEL * KERNEL


def _kernel_grid(h: int, w: int) -> Tensor:
    """Sampling positions (x, y) of a 3x3 kernel centred on every pixel: (1, 1, 9, H, W, 2)."""
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    ky, kx = np.divmod(np.arange(KERNEL_POSITIONS), KERNEL)
    grid_y = ys[None] + (ky - 1).astype(np.float32)[:, None, None]
    grid_x = xs[None] + (kx - 1).astype(np.float32)[:, None, None]
    return constant(np.stack((grid_x, grid_y), axis=-1)[None, None])


def modulated_deform_conv(
    x: Tensor,
    offset: Tensor,
    mask: Tensor,
    weight: Tensor,
    bias: Tensor,
    deformable_groups: int,
    conv_groups: int = 1,
) -> Tensor:
    """Modulated deformable 3x3 convolution (stride 1, padding 1), torchvision.ops.deform_conv2d semantics.

    offset: (N, G*9*2, H, W) ordered (group, kernel position, (dy, dx)); mask: (N, G*9, H, W).
    Each input group is bilinearly sampled at its 9 shifted positions (zeros outside, as torchvision),
    weighted by the mask and contracted with the weight in one matrix product per convolution group
    (weight: (O, C/conv_groups, 3, 3), as torchvision infers its groups). The deformable and the
    convolution groups split the channels independently. MindSpore's own DeformableConv2d is correct
    too but far slower on CPU.
    """
    n, c, h, w = x.shape
    g = deformable_groups
    out_channels = weight.shape[0]
    # (dy, dx) pairs to (dx, dy) last, by one element gather: Flip and Transpose are slow on CPU
    pairs = gather_rows(offset, _offset_pair_order(n * g * KERNEL_POSITIONS, h * w), 1)
    pairs = pairs.reshape(n, g, KERNEL_POSITIONS, h, w, 2)
    # positions to grid_sample's [-1, 1]; a product, not a division (layers.gelu says why); constants are
    # tiled to full size first, as a broadcasting Add or Mul is slow on CPU (layers.add_tiled)
    to_unit = constant(np.array([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], np.float32).reshape(1, 1, 1, 1, 1, 2))
    grid = add_tiled(pairs, _kernel_grid(h, w)) * ops.tile(to_unit, (n, g, KERNEL_POSITIONS, h, w, 1)) - 1.0
    grid = grid.reshape(n * g, KERNEL_POSITIONS * h, w, 2)
    groups = x.reshape(n * g, c // g, h, w)
    sampled = ops.grid_sample(groups, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    mask = ops.tile(mask.reshape(n, g, 1, KERNEL_POSITIONS, h, w), (1, 1, c // g, 1, 1, 1))
    cols = (sampled.reshape(n, g, c // g, KERNEL_POSITIONS, h, w) * mask).reshape(n, c * KERNEL_POSITIONS, h * w)
    # convolution group j contracts its own rows of cols with its own rows of the weight: as one batch
    # of N * conv_groups products, cols already lying (N, group, rows, pixels)
    rows = c * KERNEL_POSITIONS // conv_groups
    group_weight = weight.reshape(conv_groups, out_channels // conv_groups, rows)
    out = ops.bmm(ops.tile(group_weight, (n, 1, 1)), cols.reshape(n * conv_groups, rows, h * w))
    out = out.reshape(n, out_channels, h * w)
    return ops.bias_add(out, bias).reshape(n, out_channels, h, w)


def modulated_deform_conv_fused(
    x: Tensor,
    offset: Tensor,
    mask: Tensor,
    weight: Tensor,
    bias: Tensor,
    deformable_groups: int,
    conv_groups: int = 1,
) -> Tensor:
    """modulated_deform_conv by MindSpore's own ops.deformable_conv2d: the accelerator form.

    Same arguments and numbers. ops.deformable_conv2d takes one offsets tensor laid out as [all x offsets,
    all y offsets, all masks] along channels, each block ordered (deformable group, kernel position); ours
    (torchvision's) is (group, kernel position, (dy, dx)), so the pairs are split and restacked.
    """
    n, _, h, w = offset.shape
    pairs = offset.reshape(n, deformable_groups * KERNEL_POSITIONS, 2, h, w)
    offsets = ops.cat((pairs[:, :, 1], pairs[:, :, 0], mask), axis=1)
    return ops.deformable_conv2d(
        x,
        weight,
        offsets,
        (KERNEL, KERNEL),
        (1, 1, 1, 1),
        (1, 1, 1, 1),
        bias=bias,
        groups=conv_groups,
        deformable_groups=deformable_groups,
        modulated=True,
    )


@lru_cache(maxsize=32)
def _offset_pair_order(planes: int, pixels: int) -> np.ndarray:
    """Element order taking offsets from (planes, (dy, dx), pixels) to (planes, pixels, (dx, dy))."""
    order = np.arange(planes * 2 * pixels, dtype=np.int64).reshape(planes, 2, pixels)[:, ::-1].transpose(0, 2, 1)
    return order.reshape(-1).astype(np.int32)


class FlowGuidedDeformConv(nn.Cell):
    """DCNv2 whose offsets are the optical flow plus a bounded learned residual (reference DCNv2PackFlowGuided).

    The input holds pa_frames//2 neighbour features side by side. As in the reference (torchvision
    infers the groups from the weight), the convolution has one group per neighbour, while the
    deformable groups split the whole input evenly and need not line up with the neighbours. The
    offsets are cut into pa_frames//2 equal runs (group, kernel position) and run i follows neighbour
    i's flow, so with groups not divisible by pa_frames//2 one deformable group can take two flows.
    """

    def __init__(self, channels: int, deformable_groups: int, max_residue_magnitude: float, pa_frames: int):
        super().__init__()
        self.channels = channels
        self.deformable_groups = deformable_groups
        self.max_residue_magnitude = float(max_residue_magnitude)
        self.pa_frames = pa_frames
        self.neighbours = pa_frames // 2
        self.flow_repeats = _check_groups(channels, deformable_groups, self.neighbours)
        # forms.set_form: ops.deformable_conv2d instead of grid_sample per kernel position (or, in CPU
        # inference with one convolution group, deform_sampling's row gathers)
        self.accel = False
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
        # each flow (dx, dy) flipped to (dy, dx) and repeated over its run of (group, kernel position)
        guide = [ops.tile(ops.flip(f, (1,)), (1, self.flow_repeats, 1, 1)) for f in flows[: self.neighbours]]
        offset = residual + (guide[0] if self.neighbours == 1 else ops.cat(guide, axis=1))
        n, _, h, w = x.shape
        if not self.accel and not self.training and self.neighbours == 1 and rows_fit(n, h, w, self.deformable_groups):
            # CPU inference: sampling by row gathers (deform_sampling says why)
            return modulated_deform_conv_gathered(
                x, offset, ops.sigmoid(mask), self.weight, self.bias, self.deformable_groups
            )
        deform = modulated_deform_conv_fused if self.accel else modulated_deform_conv
        return deform(x, offset, ops.sigmoid(mask), self.weight, self.bias, self.deformable_groups, self.neighbours)


def _check_groups(channels: int, deformable_groups: int, neighbours: int) -> int:
    """Refuse what the reference cannot run; return how often each flow repeats over its offset run."""
    if channels % neighbours:
        raise ValueError(f"embed_dims: {channels} must be divisible by pa_frames/2 ({neighbours})")
    if (neighbours * channels) % deformable_groups:
        raise ValueError(
            f"deformable_groups: {neighbours * channels} aligned channels (pa_frames/2 x {channels}) "
            f"are not divisible by {deformable_groups} groups"
        )
    offsets = 2 * KERNEL_POSITIONS * deformable_groups
    if offsets % (2 * neighbours):
        raise ValueError(
            f"deformable_groups: {deformable_groups} groups give {offsets} offsets, which do not split into "
            f"{neighbours} even runs, one per pa_frames/2 neighbour (use an even number)"
        )
    return offsets // (2 * neighbours)


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
    # flows channels last: by Transpose in the accelerator form, layers.channels_last in the CPU one
    warped = [
        flow_warp(f, fl.transpose(0, 2, 3, 1) if deform.accel else channels_last(fl))
        for f, fl in zip(neighbours, flows)
    ]
    aligned = deform(ops.cat(neighbours, axis=1), warped, current, flows)
    aligned = aligned.reshape(n, 2 * (d - 1), c, h, w)
    zero = ops.zeros_like(x[:, :1])
    backward = ops.cat((aligned[:, : d - 1], zero), axis=1)
    forward = ops.cat((zero, aligned[:, d - 1 :]), axis=1)
    return backward, forward
