"""SpyNet optical flow (a 6-level coarse-to-fine pyramid) and flow-based warping.

Follows the reference VRT's SpyNet exactly: ImageNet normalisation, inputs resized to multiples of 32,
flows returned at scales 1, 1/2, 1/4 and 1/8 of the input for the multi-scale stages.
"""

from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops

from .layers import channels_first, channels_last, constant, conv2d, conv2d_rows

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _base_grid(h: int, w: int) -> Tensor:
    """(1, H, W, 2) pixel coordinates, x first, as the reference's meshgrid."""
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    return constant(np.stack([xs, ys], axis=-1)[None])


def _normalised_grid(x: Tensor, flow: Tensor) -> tuple[Tensor, Tensor]:
    """Absolute sampling positions (x, y) in pixels for a flow given as (N, H, W, 2)."""
    h, w = x.shape[-2], x.shape[-1]
    vgrid = _base_grid(h, w) + flow
    return vgrid[..., 0], vgrid[..., 1]


def flow_warp(x: Tensor, flow: Tensor, padding_mode: str = "zeros") -> Tensor:
    """Bilinearly warp x (N, C, H, W) by a flow (N, H, W, 2) in pixels, align_corners=True."""
    h, w = x.shape[-2], x.shape[-1]
    vx, vy = _normalised_grid(x, flow)
    gx = vx * (2.0 / max(w - 1, 1)) - 1.0  # products, not divisions: layers.gelu says why
    gy = vy * (2.0 / max(h - 1, 1)) - 1.0
    grid = ops.stack((gx, gy), axis=3)
    return ops.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


def flow_warp_nearest4(x: Tensor, flow: Tensor) -> Tensor:
    """The reference's 'nearest4' warp: the four integer neighbours of each target, stacked on channels.

    Returns (N, 4C, H, W) ordered (floor x, floor y), (floor x, ceil y), (ceil x, floor y), (ceil x, ceil y),
    zeros outside the image. It carries no gradient to the flow, as in the reference.
    """
    h, w = x.shape[-2], x.shape[-1]
    vx, vy = _normalised_grid(x, flow)
    outputs = []
    for fx in (ops.floor, ops.ceil):
        gx = fx(vx) * (2.0 / max(w - 1, 1)) - 1.0
        for fy in (ops.floor, ops.ceil):
            gy = fy(vy) * (2.0 / max(h - 1, 1)) - 1.0
            grid = ops.stack((gx, gy), axis=3)
            outputs.append(ops.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=True))
    return ops.cat(outputs, axis=1)


class BasicModule(nn.Cell):
    """One pyramid level: five 7x7 convolutions from (ref, warped supp, flow) to a flow residual."""

    def __init__(self):
        super().__init__()
        channels = [8, 32, 64, 32, 16, 2]
        layers: list[nn.Cell] = []
        for i in range(5):
            layers.append(conv2d(channels[i], channels[i + 1], 7, 3))
            if i < 4:
                layers.append(nn.ReLU())
        self.basic_module = nn.SequentialCell(layers)
        self.accel = False  # forms.set_form: the accelerator form keeps the plain convolutions

    def construct(self, x: Tensor) -> Tensor:
        if self.training or self.accel:
            return self.basic_module(x)
        # inference: the same layers on channels-last frames (layers.conv2d_rows says why)
        y = channels_last(x)  # not Transpose: layers.transpose_last says why
        for i in range(5):
            conv = self.basic_module[2 * i]
            y = conv2d_rows(y, conv.weight, conv.bias)
            if i < 4:
                y = ops.relu(y)
        return channels_first(y)


class SpyNet(nn.Cell):
    """SpyNet returning flows at the pyramid levels in `return_levels` (5 = full resolution).

    `finest_level` < 5 stops the pyramid early (ours, for small CPU models): flows for the finer return
    levels are the last computed flow resized, which skips the costly full-size 7x7 convolutions.
    """

    def __init__(self, return_levels: tuple[int, ...] = (2, 3, 4, 5), finest_level: int = 5):
        super().__init__()
        self.return_levels = tuple(return_levels)
        self.finest_level = finest_level
        self.basic_module = nn.CellList([BasicModule() for _ in range(finest_level + 1)])
        self.mean = constant(np.array(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.inv_std = constant(1.0 / np.array(IMAGENET_STD).reshape(1, 3, 1, 1))
        self.accel = False  # forms.set_form: flows to channels last by Transpose

    def _pyramid(self, x: Tensor) -> list[Tensor]:
        levels = [(x - self.mean) * self.inv_std]
        for _ in range(5):
            levels.append(ops.avg_pool2d(levels[-1], kernel_size=2, stride=2))
        return levels[::-1]

    def _process(self, ref: Tensor, supp: Tensor, w: int, h: int) -> list[Tensor]:
        refs = self._pyramid(ref)
        supps = self._pyramid(supp)
        n = ref.shape[0]
        flow = ops.zeros((n, 2, refs[0].shape[2] // 2, refs[0].shape[3] // 2), ref.dtype)
        flows = []
        for level in range(self.finest_level + 1):
            size = (flow.shape[2] * 2, flow.shape[3] * 2)
            up = ops.interpolate(flow, size=size, mode="bilinear", align_corners=True) * 2.0
            if up.shape[2] != refs[level].shape[2]:
                up = ops.pad(up, (0, 0, 0, 1), mode="replicate")
            if up.shape[3] != refs[level].shape[3]:
                up = ops.pad(up, (0, 1, 0, 0), mode="replicate")
            grid = up.transpose(0, 2, 3, 1) if self.accel else channels_last(up)
            warped = flow_warp(supps[level], grid, padding_mode="border")
            flow = self.basic_module[level](ops.cat((refs[level], warped, up), axis=1)) + up
            if level in self.return_levels:
                flows.append(self._resized(flow, h, w, level))
        for level in self.return_levels:
            if level > self.finest_level:
                flows.append(self._resized(flow, h, w, level))
        return flows[::-1]

    @staticmethod
    def _resized(flow: Tensor, h: int, w: int, level: int) -> Tensor:
        """A flow resized to the size of pyramid `level` of an (h, w) input, its vectors scaled alike."""
        scale = 2 ** (5 - level)
        size = (h // scale, w // scale)
        out = ops.interpolate(flow, size=size, mode="bilinear", align_corners=False)
        ratio = np.array([size[1] / flow.shape[3], size[0] / flow.shape[2]], dtype=np.float32)
        return out * constant(ratio.reshape(1, 2, 1, 1))

    def construct(self, ref: Tensor, supp: Tensor) -> list[Tensor]:
        """Flows from ref to supp (N, 2, H/s, W/s), finest first, one per return level."""
        h, w = ref.shape[2], ref.shape[3]
        w_floor = -(-w // 32) * 32
        h_floor = -(-h // 32) * 32
        ref = ops.interpolate(ref, size=(h_floor, w_floor), mode="bilinear", align_corners=False)
        supp = ops.interpolate(supp, size=(h_floor, w_floor), mode="bilinear", align_corners=False)
        return self._process(ref, supp, w, h)
