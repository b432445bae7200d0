"""The VRT network: SpyNet flows, seven multi-scale TMSA stages with parallel warping, stage 8 with
independent reconstruction layers, and the pixel-shuffle reconstruction with a bilinear residual.

Input and output follow the reference: float32 (N, D, 3, H, W) in [0, 1] -> (N, D, 3, sH, sW).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from mindspore import Tensor, nn, ops

from .alignment import FlowGuidedDeformConv, align_features
from .attention import RTMSA, TMSAG
from .layers import (
    ChannelsFirst,
    ChannelsLast,
    ChannelsToSpace,
    FrameConv3d,
    GegluMlp,
    LeakyReLU,
    PixelShuffle,
    SpaceToChannels,
    SwapFrameAxis,
    channels_first,
    channels_last,
    constant,
    conv2d_rows,
    conv2d_taps,
    dense,
    layer_norm,
    pixel_shuffle_rows,
    shuffle_channel_order,
    swap_axes12,
)
from .spynet import SpyNet, flow_warp, flow_warp_nearest4

STAGE_RESHAPES = ("none", "down", "down", "down", "up", "up", "up")
STAGE_SCALES = (1, 2, 4, 8, 4, 2, 1)


@dataclass(frozen=True)
class VRTConfig:
    """Hyper-parameters, named as the reference VRT constructor's arguments."""

    upscale: int = 4
    in_chans: int = 3
    out_chans: int = 3
    img_size: tuple[int, int, int] = (6, 64, 64)
    window_size: tuple[int, int, int] = (6, 8, 8)
    depths: tuple[int, ...] = (8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4)
    indep_reconsts: tuple[int, ...] = (11, 12)
    embed_dims: tuple[int, ...] = (120, 120, 120, 120, 120, 120, 120, 180, 180, 180, 180, 180, 180)
    num_heads: tuple[int, ...] = (6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6)
    mul_attn_ratio: float = 0.75
    mlp_ratio: float = 2.0
    qkv_bias: bool = True
    drop_path_rate: float = 0.2
    pa_frames: int = 2
    deformable_groups: int = 16
    num_feat: int = 64  # reconstruction width; fixed at 64 in the reference
    # Ours: SpyNet stops its pyramid this many levels before full size and resizes its last flow (0 = reference).
    # SpyNet's full-size 7x7 convolutions dominate a small VRT's cost on a CPU; skipping two levels is 12x cheaper.
    spynet_skip_levels: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def validate(self) -> None:
        n = len(self.depths)
        if n < 8:
            raise ValueError(f"depths: need at least 8 entries (7 stages + stage 8), got {n}")
        for name in ("embed_dims", "num_heads"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: expected {n} entries like depths, got {len(getattr(self, name))}")
        if self.pa_frames not in (2, 4, 6):
            raise ValueError(f"pa_frames: must be 2, 4 or 6, got {self.pa_frames}")
        if self.spynet_skip_levels not in (0, 1, 2, 3):
            raise ValueError(f"spynet_skip_levels: must be 0 to 3, got {self.spynet_skip_levels}")
        if self.upscale not in (1, 2, 4, 8):
            raise ValueError(f"upscale: must be 1, 2, 4 or 8, got {self.upscale}")
        if len(self.window_size) != 3 or len(self.img_size) != 3:
            raise ValueError("window_size and img_size: expected three values (frames, height, width)")
        for dim, heads in zip(self.embed_dims, self.num_heads):
            if dim % heads:
                raise ValueError(f"embed_dims: {dim} is not divisible by num_heads {heads}")


class Stage(nn.Cell):
    """Reshape (scale change), mutual+self attention, self attention, then parallel warping."""

    def __init__(self, cfg: VRTConfig, index: int, drop_path: list[float], max_residue_magnitude: float):
        super().__init__()
        in_dim = cfg.embed_dims[index - 1]
        dim = cfg.embed_dims[index]
        depth = cfg.depths[index]
        heads = cfg.num_heads[index]
        window = tuple(cfg.window_size)
        reshape = STAGE_RESHAPES[index]
        if reshape == "none":
            self.reshape = nn.SequentialCell([ChannelsLast(), layer_norm(dim), ChannelsFirst()])
        elif reshape == "down":
            self.reshape = nn.SequentialCell(
                [SpaceToChannels(), layer_norm(4 * in_dim), dense(4 * in_dim, dim), ChannelsFirst()]
            )
        else:
            self.reshape = nn.SequentialCell(
                [ChannelsToSpace(), layer_norm(in_dim // 4), dense(in_dim // 4, dim), ChannelsFirst()]
            )
        mutual_depth = int(depth * cfg.mul_attn_ratio)
        self.residual_group1 = TMSAG(
            dim, mutual_depth, heads, (2, window[1], window[2]), True, cfg.mlp_ratio, cfg.qkv_bias, drop_path
        )
        self.linear1 = dense(dim, dim)
        self.residual_group2 = TMSAG(
            dim, depth - mutual_depth, heads, window, False, cfg.mlp_ratio, cfg.qkv_bias, drop_path
        )
        self.linear2 = dense(dim, dim)
        self.pa_deform = FlowGuidedDeformConv(dim, cfg.deformable_groups, max_residue_magnitude, cfg.pa_frames)
        self.pa_fuse = GegluMlp(dim * 3, dim * 3, dim)
        self.accel = False  # forms.set_form: layouts by Transpose (the CPU form avoids it, layers.transpose_last)

    def _channels_residual(self, linear: nn.Cell, y: Tensor, x: Tensor) -> Tensor:
        if self.accel:
            return linear(y.swapaxes(1, 4)).swapaxes(1, 4) + x
        return channels_first(linear(channels_last(y))) + x

    def construct(self, x: Tensor, flows_backward: list[Tensor], flows_forward: list[Tensor]) -> Tensor:
        x = self.reshape(x)
        x = self._channels_residual(self.linear1, self.residual_group1(x), x)
        x = self._channels_residual(self.linear2, self.residual_group2(x), x)
        x = x.swapaxes(1, 2) if self.accel else swap_axes12(x)  # N D C H W
        backward, forward = align_features(self.pa_deform, x, flows_backward, flows_forward)
        fused = ops.cat((x, backward, forward), axis=2)
        if self.accel:
            return self.pa_fuse(fused.transpose(0, 1, 3, 4, 2)).transpose(0, 4, 1, 2, 3)
        n, d, c3, h, w = fused.shape
        fused = channels_last(fused.reshape(n * d, c3, h, w)).reshape(n, d, h, w, c3)
        return channels_first(self.pa_fuse(fused))


def _upsampler(scale: int, num_feat: int) -> nn.SequentialCell:
    layers: list[nn.Cell] = []
    for _ in range(int(math.log2(scale))):
        layers += [
            FrameConv3d(num_feat, 4 * num_feat),
            SwapFrameAxis(),
            PixelShuffle(2),
            SwapFrameAxis(),
            LeakyReLU(0.1),
        ]
    layers.append(FrameConv3d(num_feat, num_feat))
    return nn.SequentialCell(layers)


class VRT(nn.Cell):
    """Video Restoration Transformer for video super-resolution (and, with upscale=1, restoration)."""

    def __init__(self, cfg: VRTConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.accel = False  # forms.set_form; the CPU form until then
        self.form = "cpu"
        self.upscale = cfg.upscale
        self.pa_frames = cfg.pa_frames
        dims = cfg.embed_dims
        self.conv_first = FrameConv3d(cfg.in_chans * (1 + 2 * 4), dims[0])
        self.spynet = SpyNet((2, 3, 4, 5), finest_level=5 - cfg.spynet_skip_levels)
        total = sum(cfg.depths)
        dpr = [float(v) for v in np.linspace(0, cfg.drop_path_rate, total)] if total > 1 else [0.0] * total
        for i in range(7):
            start, end = sum(cfg.depths[:i]), sum(cfg.depths[: i + 1])
            setattr(self, f"stage{i + 1}", Stage(cfg, i, dpr[start:end], 10 / STAGE_SCALES[i]))
        stage8: list[nn.Cell] = [
            nn.SequentialCell([ChannelsLast(), layer_norm(dims[6]), dense(dims[6], dims[7]), ChannelsFirst()])
        ]
        window = tuple(cfg.window_size)
        for i in range(7, len(cfg.depths)):
            start, end = sum(cfg.depths[:i]), sum(cfg.depths[: i + 1])
            w = (1, window[1], window[2]) if i in cfg.indep_reconsts else window
            stage8.append(
                RTMSA(dims[i], cfg.depths[i], cfg.num_heads[i], w, cfg.mlp_ratio, cfg.qkv_bias, dpr[start:end])
            )
        self.stage8 = nn.CellList(stage8)
        self.norm = layer_norm(dims[-1])
        self.conv_after_body = dense(dims[-1], dims[0])
        if cfg.upscale == 1:
            self.conv_last = FrameConv3d(dims[0], cfg.out_chans)
        else:
            self.conv_before_upsample = nn.SequentialCell([FrameConv3d(dims[0], cfg.num_feat), LeakyReLU(0.01)])
            self.upsample = _upsampler(cfg.upscale, cfg.num_feat)
            self.conv_last = FrameConv3d(cfg.num_feat, cfg.out_chans)

    # ----- flows -----
    def _flows_2frames(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        b, n, c, h, w = x.shape
        x1 = x[:, :-1].reshape(-1, c, h, w)
        x2 = x[:, 1:].reshape(-1, c, h, w)
        backward = self.spynet(x1, x2)
        forward = self.spynet(x2, x1)
        backward = [f.reshape(b, n - 1, 2, h // 2**i, w // 2**i) for i, f in enumerate(backward)]
        forward = [f.reshape(b, n - 1, 2, h // 2**i, w // 2**i) for i, f in enumerate(forward)]
        return backward, forward

    def _chain(self, first: Tensor, second: Tensor) -> Tensor:
        """Compose flows frame by frame: first, plus second sampled where first points. (N, T, 2, H, W)."""
        n, t, c, h, w = first.shape
        a = first.reshape(n * t, c, h, w)
        b = second.reshape(n * t, c, h, w)
        return (a + flow_warp(b, self._channels_last(a))).reshape(n, t, c, h, w)

    def _channels_last(self, x: Tensor) -> Tensor:
        """(N, C, ...) -> (N, ..., C): Transpose in the accelerator form, layers.channels_last in the CPU one."""
        if not self.accel:
            return channels_last(x)
        return x.transpose(0, 2, 3, 1) if x.ndim == 4 else x.transpose(0, 2, 3, 4, 1)

    def _channels_first(self, x: Tensor) -> Tensor:
        """(N, ..., C) -> (N, C, ...), the inverse of _channels_last."""
        if not self.accel:
            return channels_first(x)
        return x.transpose(0, 3, 1, 2) if x.ndim == 4 else x.transpose(0, 4, 1, 2, 3)

    def _swap12(self, x: Tensor) -> Tensor:
        """Axes 1 and 2 swapped: Transpose in the accelerator form, layers.swap_axes12 in the CPU one."""
        return x.swapaxes(1, 2) if self.accel else swap_axes12(x)

    def _flows_4frames(self, forward: list[Tensor], backward: list[Tensor]) -> tuple[list, list]:
        """Flows two frames away, chained from the one-frame flows."""
        d = forward[0].shape[1]
        backward2 = [self._chain(f[:, : d - 1], f[:, 1:d]) for f in backward]
        forward2 = [self._chain(f[:, 1:d], f[:, : d - 1]) for f in forward]
        return backward2, forward2

    def _flows_6frames(self, forward, backward, forward2, backward2) -> tuple[list, list]:
        """Flows three frames away, chained from the two-frame and one-frame flows."""
        d = forward2[0].shape[1]
        backward3 = [self._chain(f2[:, : d - 1], f[:, 2 : d + 1]) for f, f2 in zip(backward, backward2)]
        forward3 = [self._chain(f2[:, 1:d], f[:, : d - 1]) for f, f2 in zip(forward, forward2)]
        return backward3, forward3

    def get_flows(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Flows to the 1, 2 and 3 frames away neighbours, each at scales 1, 1/2, 1/4, 1/8.

        Ordered as the reference: [hop1 s1, hop1 s2, hop1 s4, hop1 s8, hop2 s1, ...].
        """
        backward, forward = self._flows_2frames(x)
        if self.pa_frames == 2:
            return backward, forward
        backward2, forward2 = self._flows_4frames(forward, backward)
        if self.pa_frames == 4:
            return backward + backward2, forward + forward2
        backward3, forward3 = self._flows_6frames(forward, backward, forward2, backward2)
        return backward + backward2 + backward3, forward + forward2 + forward3

    def _aligned_images(self, x: Tensor, backward: Tensor, forward: Tensor) -> tuple[Tensor, Tensor]:
        """Input frames warped to each frame from its next/previous frame (nearest4), zeros at the ends."""
        n, d, c, h, w = x.shape
        flows = ops.cat((backward, forward), axis=1).reshape(n * 2 * (d - 1), 2, h, w)
        sources = ops.cat((x[:, 1:], x[:, : d - 1]), axis=1).reshape(n * 2 * (d - 1), c, h, w)
        warped = flow_warp_nearest4(sources, self._channels_last(flows)).reshape(n, 2 * (d - 1), 4 * c, h, w)
        zero = ops.zeros((n, 1, 4 * c, h, w), x.dtype)
        return ops.cat((warped[:, : d - 1], zero), axis=1), ops.cat((zero, warped[:, d - 1 :]), axis=1)

    # ----- body -----
    def forward_features(self, x: Tensor, backward: list[Tensor], forward: list[Tensor]) -> Tensor:
        x1 = self.stage1(x, backward[0::4], forward[0::4])
        x2 = self.stage2(x1, backward[1::4], forward[1::4])
        x3 = self.stage3(x2, backward[2::4], forward[2::4])
        x4 = self.stage4(x3, backward[3::4], forward[3::4])
        x = self.stage5(x4, backward[2::4], forward[2::4])
        x = self.stage6(x + x3, backward[1::4], forward[1::4])
        x = self.stage7(x + x2, backward[0::4], forward[0::4])
        x = x + x1
        for layer in self.stage8:
            x = layer(x)
        return self._channels_first(self.norm(self._channels_last(x)))

    def _upscaled(self, x: Tensor) -> Tensor:
        """conv_before_upsample, upsample and conv_last: (N, C, D, H, W) -> (N, D, C_out, sH, sW).

        The reference's Conv3d / Transpose_Dim12 / PixelShuffle sequence, run on (N*D, C, H, W) frames from
        start to end: the same numbers without moving the frame axis between layers (MindSpore's CPU
        Transpose is slow, and here it would move the largest tensors of the model).
        """
        if not self.training and not self.accel:
            return self._upscaled_rows(x)
        n, c, d, h, w = x.shape
        y = self._swap12(x).reshape(n * d, c, h, w)
        y = self.conv_before_upsample[1](self.conv_before_upsample[0].frames(y))
        steps = int(math.log2(self.upscale))
        for i in range(steps):  # each step: FrameConv3d, SwapFrameAxis, PixelShuffle, SwapFrameAxis, LeakyReLU
            y = self.upsample[5 * i + 4](self.upsample[5 * i + 2](self.upsample[5 * i].frames(y)))
        y = self.conv_last.frames(self.upsample[5 * steps].frames(y))
        return y.reshape(n, d, y.shape[1], y.shape[2], y.shape[3])

    def _upscaled_rows(self, x: Tensor) -> Tensor:
        """_upscaled for inference, on channels-last frames (layers.conv2d_rows): the same numbers, faster.

        The upsampler's convolutions emit their channels in the order pixel_shuffle_rows reads, by a
        reordering of their (small) weights rather than of their (large) outputs.
        """
        n, c, d, h, w = x.shape
        y = channels_last(x).reshape(n * d, h, w, c)
        first = self.conv_before_upsample[0]
        y = self.conv_before_upsample[1](conv2d_rows(y, first.weight.squeeze(2), first.bias))
        steps = int(math.log2(self.upscale))
        order = constant(shuffle_channel_order(4 * self.cfg.num_feat, 2), np.int32)
        for i in range(steps):
            conv = self.upsample[5 * i]
            weight = ops.gather(conv.weight.squeeze(2), order, 0)
            y = pixel_shuffle_rows(conv2d_rows(y, weight, ops.gather(conv.bias, order, 0)), 2)
            y = self.upsample[5 * i + 4](y)
        hr = self.upsample[5 * steps]
        y = conv2d_taps(y, hr.weight.squeeze(2), hr.bias)
        y = conv2d_taps(y, self.conv_last.weight.squeeze(2), self.conv_last.bias)
        return channels_first(y).reshape(n, d, y.shape[3], y.shape[1], y.shape[2])

    def construct(self, x: Tensor) -> Tensor:
        x_lq = x
        backward, forward = self.get_flows(x)
        aligned_back, aligned_fwd = self._aligned_images(x, backward[0], forward[0])
        x = ops.cat((x, aligned_back, aligned_fwd), axis=2)
        if self.accel:
            x = self.conv_first(x.swapaxes(1, 2))
        else:  # the frames as they lie (layers.swap_axes12 says why)
            n, d, c, h, w = x.shape
            x = swap_axes12(self.conv_first.frames(x.reshape(n * d, c, h, w)).reshape(n, d, -1, h, w))
        features = self.forward_features(x, backward, forward)
        if self.accel:
            x = x + self.conv_after_body(features.swapaxes(1, 4)).swapaxes(1, 4)
        else:
            x = x + channels_first(self.conv_after_body(channels_last(features)))
        if self.upscale == 1:
            return self._swap12(self.conv_last(x)) + x_lq
        x = self._upscaled(x)
        n, d, c, h, w = x.shape
        frames = x_lq.reshape(n * d, c, x_lq.shape[3], x_lq.shape[4])
        base = ops.interpolate(frames, size=(h, w), mode="bilinear", align_corners=False)
        return x + base.reshape(n, d, c, h, w).astype(x.dtype)  # the head's precision (precision.py)
