"""Temporal mutual self attention (TMSA): windows over (frames, height, width), shifted windows,
relative position bias for self attention and sine position encoding for mutual attention.

Host-side constants (shift masks, relative position indices, sine encodings) are made with numpy once
per shape and cached; the cells only do tensor work.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import TruncatedNormal, initializer

from .layers import DropPath, GegluMlp, constant, dense, layer_norm, zero_pad

Window = tuple[int, int, int]
MASK_VALUE = -100.0


def window_partition(x, window: Window):
    """(B, D, H, W, C) -> (B * windows, wd*wh*ww, C); works on numpy arrays and tensors.

    Axes that keep their order are merged first (B with D/wd, ww with C), so the permutation has 6 axes,
    not 8: MindSpore 2.10's CPU Transpose is faster on the lower rank (bench/op_speed.py, reds_6f stage-8 size:
    0.11 s against 0.16 s).
    """
    b, d, h, w, c = x.shape
    x = x.reshape(b * (d // window[0]), window[0], h // window[1], window[1], w // window[2], window[2] * c)
    x = x.transpose(0, 2, 4, 1, 3, 5)
    return x.reshape(-1, window[0] * window[1] * window[2], c)


def window_reverse(windows, window: Window, b: int, d: int, h: int, w: int):
    """Inverse of window_partition: (B * windows, wd*wh*ww, C) -> (B, D, H, W, C)."""
    c = windows.shape[-1]
    x = windows.reshape(b * (d // window[0]), h // window[1], w // window[2], window[0], window[1], window[2] * c)
    x = x.transpose(0, 3, 1, 4, 2, 5)
    return x.reshape(b, d, h, w, c)


def effective_window(size: Window, window: Window, shift: Window) -> tuple[Window, Window]:
    """Shrink the window (and cancel the shift) along axes no longer than the window, as the reference."""
    use_window = list(window)
    use_shift = list(shift)
    for i in range(3):
        if size[i] <= window[i]:
            use_window[i] = size[i]
            use_shift[i] = 0
    return tuple(use_window), tuple(use_shift)


@lru_cache(maxsize=64)
def shift_mask_array(d: int, h: int, w: int, window: Window, shift: Window) -> np.ndarray:
    """(windows, N, N) additive mask: 0 inside one shifted region, -100 across regions."""
    labels = np.zeros((1, d, h, w, 1), np.float32)
    region = 0
    for ds in (slice(-window[0]), slice(-window[0], -shift[0]), slice(-shift[0], None)):
        for hs in (slice(-window[1]), slice(-window[1], -shift[1]), slice(-shift[1], None)):
            for ws in (slice(-window[2]), slice(-window[2], -shift[2]), slice(-shift[2], None)):
                labels[:, ds, hs, ws, :] = region
                region += 1
    windows = window_partition(labels, window)[..., 0]
    diff = windows[:, None, :] - windows[:, :, None]
    return np.where(diff != 0, MASK_VALUE, 0.0).astype(np.float32)


@lru_cache(maxsize=64)
def attention_masks(d: int, h: int, w: int, window: Window, shift: Window) -> tuple[np.ndarray, np.ndarray]:
    """The shift mask shaped to add to attention scores as they are, so no slicing runs on the device.

    Self attention: (1, windows, 1, N, N). Mutual attention uses the first frame's block of it, as the
    reference does: (1, windows, 1, 1, N/2, N/2).
    """
    mask = shift_mask_array(d, h, w, window, shift)
    n = mask.shape[-1]
    return mask[None, :, None], np.ascontiguousarray(mask[None, :, None, None, : n // 2, : n // 2])


@lru_cache(maxsize=16)
def relative_position_index(window: Window) -> np.ndarray:
    """(N, N) index into the relative position bias table for every pair of tokens in a window."""
    coords = np.stack(np.meshgrid(*[np.arange(s) for s in window], indexing="ij")).reshape(3, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)
    rel = rel + np.array([window[0] - 1, window[1] - 1, window[2] - 1])
    rel = rel * np.array([(2 * window[1] - 1) * (2 * window[2] - 1), 2 * window[2] - 1, 1])
    return rel.sum(-1).astype(np.int32)


def sine_position_encoding(hw: tuple[int, int], num_pos_feats: int, temperature: float = 10000.0) -> np.ndarray:
    """(1, H*W, 2*num_pos_feats) normalised 2-D sine encoding (DETR style) used by mutual attention."""
    scale = 2 * math.pi
    eps = 1e-6
    ones = np.ones((1, hw[0], hw[1]), np.float32)
    y_embed = ones.cumsum(1, dtype=np.float32)
    x_embed = ones.cumsum(2, dtype=np.float32)
    y_embed = y_embed / (y_embed[:, -1:, :] + eps) * scale
    x_embed = x_embed / (x_embed[:, :, -1:] + eps) * scale
    dim_t = np.arange(num_pos_feats, dtype=np.float32)
    dim_t = (temperature ** (2 * (dim_t // 2) / num_pos_feats)).astype(np.float32)
    pos_x = x_embed[..., None] / dim_t
    pos_y = y_embed[..., None] / dim_t
    pos_x = np.stack((np.sin(pos_x[..., 0::2]), np.cos(pos_x[..., 1::2])), axis=4).reshape(*pos_x.shape[:3], -1)
    pos_y = np.stack((np.sin(pos_y[..., 0::2]), np.cos(pos_y[..., 1::2])), axis=4).reshape(*pos_y.shape[:3], -1)
    pos = np.concatenate((pos_y, pos_x), axis=3)  # 1 H W C
    return pos.reshape(1, hw[0] * hw[1], -1).astype(np.float32)


def roll3(x: Tensor, shifts: Window) -> Tensor:
    """Cyclic shift of axes 1..3 (torch.roll semantics) by slicing, which every backend supports."""
    for axis, shift in zip((1, 2, 3), shifts):
        size = x.shape[axis]
        shift = shift % size
        if shift == 0:
            continue
        head = ops.narrow(x, axis, size - shift, shift)
        tail = ops.narrow(x, axis, 0, size - shift)
        x = ops.cat((head, tail), axis=axis)
    return x


class WindowAttention(nn.Cell):
    """Multi-head self attention in a window, plus mutual attention between its two frames if enabled.

    Written for MindSpore's CPU kernels, where StridedSlice copies run at a few hundred MB/s: q, k and v
    come out of one projection by Split, the two frames of a mutual window are paired by a reshape and
    one flip instead of four slices, and masks arrive already cut and shaped (see TMSAG).
    """

    def __init__(self, dim: int, window: Window, num_heads: int, qkv_bias: bool, mut_attn: bool):
        super().__init__()
        self.dim = dim
        self.window = tuple(window)
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.mut_attn = mut_attn
        table_size = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = Parameter(
            initializer(TruncatedNormal(0.02), (table_size, num_heads)), name="relative_position_bias_table"
        )
        self.relative_position_index = relative_position_index(self.window)
        self.qkv_self = dense(dim, dim * 3, bias=qkv_bias)
        if mut_attn:
            self.position_bias = constant(sine_position_encoding(self.window[1:], dim // 2))
            self.qkv_mut = dense(dim, dim * 3, bias=qkv_bias)
            self.proj = dense(2 * dim, dim)
        else:
            self.proj = dense(dim, dim)

    def _heads(self, t: Tensor, b: int, n: int) -> Tensor:
        """(B, N, C) -> (B, heads, N, C/heads)."""
        return t.reshape(b, n, self.num_heads, -1).transpose(0, 2, 1, 3)

    def _qkv(self, linear: nn.Cell, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, n, _ = x.shape
        q, k, v = ops.split(linear(x), self.dim, axis=-1)
        return self._heads(q * self.scale, b, n), self._heads(k, b, n), self._heads(v, b, n)

    @staticmethod
    def _masked_softmax(attn: Tensor, mask: Tensor | None) -> Tensor:
        """Softmax over the last axis; mask is (1, windows, 1, ..., n, n) against attn (B*windows, ...)."""
        if mask is not None:
            shape = attn.shape
            attn = (attn.reshape((-1, mask.shape[1]) + shape[1:]) + mask).reshape(shape)
        return ops.softmax(attn, axis=-1)

    def _self_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        b, n, c = x.shape
        q, k, v = self._qkv(self.qkv_self, x)
        index = constant(self.relative_position_index[:n, :n].reshape(-1), np.int32)
        bias = ops.gather(self.relative_position_bias_table, index, 0).reshape(n, n, -1)
        attn = ops.matmul(q, k.swapaxes(-2, -1)) + bias.transpose(2, 0, 1).unsqueeze(0)
        out = ops.matmul(self._masked_softmax(attn, mask), v)
        return out.swapaxes(1, 2).reshape(b, n, c)

    def _mutual_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """Frame 2's queries against frame 1's keys/values, then frame 1's against frame 2's.

        Tokens of a (2, h, w) window are ordered frame by frame, so (B, heads, 2, N/2, d) holds the two
        frames; flipping the queries' frame axis pairs q2 with k1 and q1 with k2 in one batched product,
        and the result comes out in the order (first frame aligned, second frame aligned).
        """
        b, n, c = x.shape
        pos = ops.tile(self.position_bias, (1, 2, 1))
        q, k, v = self._qkv(self.qkv_mut, x + pos)
        half = (b, self.num_heads, 2, n // 2, c // self.num_heads)
        q = ops.flip(q.reshape(half), (2,))
        attn = ops.matmul(q, k.reshape(half).swapaxes(-2, -1))
        out = ops.matmul(self._masked_softmax(attn, mask), v.reshape(half))
        return out.transpose(0, 2, 3, 1, 4).reshape(b, n, c)

    def construct(self, x: Tensor, mask: Tensor | None = None, mutual_mask: Tensor | None = None) -> Tensor:
        out = self._self_attention(x, mask)
        if self.mut_attn:
            out = ops.cat((self._mutual_attention(x, mutual_mask), out), axis=2)
        return self.proj(out)


class TMSA(nn.Cell):
    """One transformer block: (shifted) window attention and a GEGLU feed-forward, both residual."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window: Window,
        shift: Window,
        mut_attn: bool,
        mlp_ratio: float,
        qkv_bias: bool,
        drop_path: float,
    ):
        super().__init__()
        self.window = tuple(window)
        self.shift = tuple(shift)
        self.norm1 = layer_norm(dim)
        self.attn = WindowAttention(dim, self.window, num_heads, qkv_bias, mut_attn)
        self.drop_path = DropPath(drop_path)
        self.norm2 = layer_norm(dim)
        self.mlp = GegluMlp(dim, int(dim * mlp_ratio))

    def _attention_part(self, x: Tensor, mask: Tensor | None, mutual_mask: Tensor | None) -> Tensor:
        b, d, h, w, c = x.shape
        window, shift = effective_window((d, h, w), self.window, self.shift)
        x = self.norm1(x)
        pad_d = (window[0] - d % window[0]) % window[0]
        pad_h = (window[1] - h % window[1]) % window[1]
        pad_w = (window[2] - w % window[2]) % window[2]
        if pad_d or pad_h or pad_w:  # zeros at the ends of D, H, W (layers.zero_pad says why not ops.pad)
            x = zero_pad(zero_pad(zero_pad(x, 1, 0, pad_d), 2, 0, pad_h), 3, 0, pad_w)
        dp, hp, wp = d + pad_d, h + pad_h, w + pad_w
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = roll3(x, (-shift[0], -shift[1], -shift[2]))
        windows = window_partition(x, window)
        windows = self.attn(windows, mask, mutual_mask) if shifted else self.attn(windows)
        x = window_reverse(windows, window, b, dp, hp, wp)
        if shifted:
            x = roll3(x, shift)
        if pad_d or pad_h or pad_w:
            x = x[:, :d, :h, :w, :]
        return self.drop_path(x)

    def construct(self, x: Tensor, mask: Tensor | None, mutual_mask: Tensor | None) -> Tensor:
        x = x + self._attention_part(x, mask, mutual_mask)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class TMSAG(nn.Cell):
    """A group of TMSA blocks alternating plain and shifted windows; input/output (N, C, D, H, W)."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window: Window,
        mut_attn: bool,
        mlp_ratio: float,
        qkv_bias: bool,
        drop_path: list[float],
    ):
        super().__init__()
        self.window = tuple(window)
        self.shift = tuple(s // 2 for s in window)
        self.blocks = nn.CellList(
            [
                TMSA(
                    dim,
                    num_heads,
                    self.window,
                    (0, 0, 0) if i % 2 == 0 else self.shift,
                    mut_attn,
                    mlp_ratio,
                    qkv_bias,
                    drop_path[i] if i < len(drop_path) else 0.0,
                )
                for i in range(depth)
            ]
        )

    def construct(self, x: Tensor) -> Tensor:
        _, _, d, h, w = x.shape
        window, shift = effective_window((d, h, w), self.window, self.shift)
        dp = -(-d // window[0]) * window[0]
        hp = -(-h // window[1]) * window[1]
        wp = -(-w // window[2]) * window[2]
        mask = mutual_mask = None
        if len(self.blocks) > 1:
            mask, mutual_mask = (constant(m) for m in attention_masks(dp, hp, wp, window, shift))
        x = x.transpose(0, 2, 3, 4, 1)
        for block in self.blocks:
            x = block(x, mask, mutual_mask)
        return x.transpose(0, 4, 1, 2, 3)


class RTMSA(nn.Cell):
    """Residual group of self-attention-only TMSA blocks with a linear layer (stage 8)."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window: Window,
        mlp_ratio: float,
        qkv_bias: bool,
        drop_path: list[float],
    ):
        super().__init__()
        self.residual_group = TMSAG(dim, depth, num_heads, window, False, mlp_ratio, qkv_bias, drop_path)
        self.linear = dense(dim, dim)

    def construct(self, x: Tensor) -> Tensor:
        return x + self.linear(self.residual_group(x).transpose(0, 4, 2, 3, 1)).transpose(0, 4, 2, 3, 1)
