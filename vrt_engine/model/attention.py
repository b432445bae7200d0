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

from .layers import (
    DropPath,
    GegluMlp,
    add_tiled,
    cached_constant,
    channels_first,
    channels_last,
    constant,
    dense,
    gather_by,
    layer_norm,
    zero_pad,
)

Window = tuple[int, int, int]
MASK_VALUE = -100.0


def window_partition(x, window: Window):
    """(B, D, H, W, C) -> (B * windows, wd*wh*ww, C); works on numpy arrays and tensors.

    The model itself partitions by one row gather (window_gather_indices, built with this function on the
    host): MindSpore 2.10's CPU Transpose is about 10x slower than the gather (bench/op_speed.py).
    """
    b, d, h, w, c = x.shape
    x = x.reshape(b * (d // window[0]), window[0], h // window[1], window[1], w // window[2], window[2] * c)
    x = x.transpose(0, 2, 4, 1, 3, 5)
    return x.reshape(-1, window[0] * window[1] * window[2], c)


def window_reverse(windows: Tensor, window: Window, size: tuple[int, int, int, int]) -> Tensor:
    """(B * windows, wd*wh*ww, C) -> (B, D, H, W, C): the inverse of window_partition (accelerator form)."""
    b, d, h, w = size
    c = windows.shape[-1]
    x = windows.reshape(b, d // window[0], h // window[1], w // window[2], window[0], window[1], window[2], c)
    return x.transpose(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, c)


def roll_axes(x: Tensor, shifts: tuple[int, int, int], first_axis: int = 1) -> Tensor:
    """torch.roll over three consecutive axes by slicing and concatenation (MindSpore 2.10's CPU has no Roll)."""
    for i in range(3):
        axis = first_axis + i
        size = x.shape[axis]
        s = shifts[i] % size
        if s:
            x = ops.cat((ops.narrow(x, axis, size - s, s), ops.narrow(x, axis, 0, size - s)), axis=axis)
    return x


def effective_window(size: Window, window: Window, shift: Window) -> tuple[Window, Window]:
    """Shrink the window (and cancel the shift) along axes no longer than the window, as the reference."""
    use_window = list(window)
    use_shift = list(shift)
    for i in range(3):
        if size[i] <= window[i]:
            use_window[i] = size[i]
            use_shift[i] = 0
    return tuple(use_window), tuple(use_shift)


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


def attention_masks(d: int, h: int, w: int, window: Window, shift: Window) -> tuple[np.ndarray, np.ndarray]:
    """The shift mask shaped to add to attention scores as they are, so no slicing runs on the device.

    Self attention: (1, windows, 1, N, N). Mutual attention uses the first frame's block of it, as the
    reference does: (1, windows, 1, 1, N/2, N/2).
    """
    mask = shift_mask_array(d, h, w, window, shift)
    n = mask.shape[-1]
    return mask[None, :, None], np.ascontiguousarray(mask[None, :, None, None, : n // 2, : n // 2])


def shift_codes_array(d: int, h: int, w: int, window: Window, shift: Window) -> np.ndarray:
    """(2, windows, N, R) query and key codes of the shift mask, R = 2 per shifted axis.

    Along a shifted axis a window holds tokens of at most two of shift_mask_array's regions (the last
    `shift` positions and the rest), so with s = 1 for the last `shift` positions the query code
    (MASK_VALUE * s, MASK_VALUE * (1 - s)) dotted with the key code (1 - s, s) is MASK_VALUE where two
    tokens lie on different sides and exactly 0 where they lie on the same. Appended to q and k (CPU form)
    the product q.k then carries the mask: exactly the scores where the mask is 0, MASK_VALUE once per
    axis (not once in all) where it is not, which softmax turns into the same float32 zeros. Why: the
    (windows, heads, N, N) mask otherwise becomes a graph constant as large as the scores, per block.
    """
    codes_q, codes_k = [], []
    sizes = (d, h, w)
    for axis in range(3):
        if not shift[axis]:
            continue
        side = np.zeros((1, d, h, w, 1), np.float32)
        index = [slice(None)] * 5
        index[axis + 1] = slice(sizes[axis] - shift[axis], None)
        side[tuple(index)] = 1.0
        s = window_partition(side, window)[..., 0]
        codes_q += [MASK_VALUE * s, MASK_VALUE * (1.0 - s)]
        codes_k += [1.0 - s, s]
    return np.stack((np.stack(codes_q, -1), np.stack(codes_k, -1))).astype(np.float32)


def attention_codes(d: int, h: int, w: int, window: Window, shift: Window) -> tuple[np.ndarray, np.ndarray]:
    """shift_codes_array shaped to tile onto q and k: self attention (2, 1, windows, 1, N, R), mutual
    attention the first frame's tokens (2, 1, windows, 1, 1, N/2, R), as attention_masks cuts the mask."""
    codes = shift_codes_array(d, h, w, window, shift)
    n = codes.shape[2]
    return codes[:, None, :, None], np.ascontiguousarray(codes[:, None, :, None, None, : n // 2])


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


def window_gather_indices(
    size: tuple[int, int, int, int], window: Window, shift: Window
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices for gathering (B, D, H, W) tokens into windows and back, as two int32 arrays.

    `order` lists, window by window, which token each window position holds after the reference's zero
    padding to window multiples and cyclic shift by -shift (torch.roll); the value B*D*H*W names an extra
    zero row for padded positions. `inverse` gives, for every token, its position in the windows. One
    Gather then does the pad, roll and partition (and one does the reverse, roll back and crop): MindSpore
    2.10's CPU Transpose and StridedSlice copy at a few hundred MB/s, its Gather of rows near memory speed
    (bench/op_speed.py).
    """
    b, d, h, w = size
    total = b * d * h * w
    tokens = np.arange(total, dtype=np.int64).reshape(b, d, h, w)
    pads = [(0, 0)] + [(0, (win - n % win) % win) for n, win in zip((d, h, w), window)]
    tokens = np.pad(tokens, pads, constant_values=total)
    tokens = np.roll(tokens, [-s for s in shift], axis=(1, 2, 3))
    order = window_partition(tokens[..., None], window).reshape(-1)
    inverse = np.empty(total, np.int64)
    real = order < total
    inverse[order[real]] = np.flatnonzero(real)
    return order.astype(np.int32), inverse.astype(np.int32)


def head_gather_indices(windows: int, n: int, heads: int, mutual: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (rows of one head's channels) that split a (windows, N, 3, heads) projection into
    (3, windows, heads, N) and merge (windows, heads, N) attention outputs back to (windows, N, heads).

    For mutual attention the queries' two frames come swapped, so that one batched product pairs frame 2's
    queries with frame 1's keys and frame 1's with frame 2's; the output order is then (first frame
    aligned, second frame aligned), as the reference concatenates them.
    """
    split = np.arange(windows * n * 3 * heads, dtype=np.int64).reshape(windows, n, 3, heads).transpose(2, 0, 3, 1)
    if mutual:
        queries = split[0].reshape(windows, heads, 2, n // 2)[:, :, ::-1]
        split = np.concatenate((queries.reshape(1, windows, heads, n), split[1:]))
    merge = np.arange(windows * heads * n, dtype=np.int64).reshape(windows, heads, n).transpose(0, 2, 1)
    return split.reshape(-1).astype(np.int32), merge.reshape(-1).astype(np.int32)


def _window_order(size, window, shift) -> np.ndarray:
    return window_gather_indices(size, window, shift)[0]


def _window_inverse(size, window, shift) -> np.ndarray:
    return window_gather_indices(size, window, shift)[1]


def _head_split(windows, n, heads, mutual) -> np.ndarray:
    return head_gather_indices(windows, n, heads, mutual)[0]


def _head_merge(windows, n, heads, mutual) -> np.ndarray:
    return head_gather_indices(windows, n, heads, mutual)[1]


def _self_mask(d, h, w, window, shift) -> np.ndarray:
    return attention_masks(d, h, w, window, shift)[0]


def _mutual_mask(d, h, w, window, shift) -> np.ndarray:
    return attention_masks(d, h, w, window, shift)[1]


def _self_codes(d, h, w, window, shift) -> np.ndarray:
    return attention_codes(d, h, w, window, shift)[0]


def _mutual_codes(d, h, w, window, shift) -> np.ndarray:
    return attention_codes(d, h, w, window, shift)[1]


# the graph's constants, one cached tensor per shape (layers.cached_constant says why)
window_order_index = cached_constant(_window_order)
window_inverse_index = cached_constant(_window_inverse)
head_split_index = cached_constant(_head_split)
head_merge_index = cached_constant(_head_merge)
self_mask_constant = cached_constant(_self_mask, np.float32)
mutual_mask_constant = cached_constant(_mutual_mask, np.float32)
self_codes_constant = cached_constant(_self_codes, np.float32)
mutual_codes_constant = cached_constant(_mutual_codes, np.float32)


class Softmax(nn.Cell):
    """Softmax over the last axis as a cell of its own, so precision.py can keep it in float32."""

    def construct(self, x: Tensor) -> Tensor:
        return ops.softmax(x, axis=-1)


class WindowAttention(nn.Cell):
    """Multi-head self attention in a window, plus mutual attention between its two frames if enabled.

    Written for MindSpore's CPU kernels, where Transpose and StridedSlice copy at a few hundred MB/s: heads
    are split and merged by row gathers (head_gather_indices), the two frames of a mutual window are paired
    by the same gather, and masks arrive already cut and shaped (see TMSAG).
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
        # q @ k^T without materialising k^T: a transposed copy costs more than the product (bench/op_speed.py)
        self.scores = ops.BatchMatMul(transpose_b=True)
        self.weighted = ops.BatchMatMul()
        self.softmax = Softmax()
        self.accel = False  # forms.set_form: heads split by reshape/transpose, masks added by broadcasting

    def _qkv_plain(self, linear: nn.Cell, x: Tensor, mutual: bool) -> tuple[Tensor, Tensor, Tensor]:
        """_qkv by reshape and transpose (the accelerator form); same layout and frame swap."""
        b, n, _ = x.shape
        head_dim = self.dim // self.num_heads
        qkv = linear(x).reshape(b, n, 3, self.num_heads, head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if mutual:  # frame 2's queries first, then frame 1's
            q = q.reshape(b, self.num_heads, 2, n // 2, head_dim)
            q = ops.cat((q[:, :, 1:], q[:, :, :1]), axis=2)
        shape = (b * self.num_heads, n, head_dim)
        return q.reshape(shape) * self.scale, k.reshape(shape), v.reshape(shape)

    def _heads(self, linear: nn.Cell, x: Tensor, mutual: bool) -> tuple[Tensor, Tensor, Tensor]:
        return self._qkv_plain(linear, x, mutual) if self.accel else self._qkv(linear, x, mutual)

    def _merge(self, out: Tensor, b: int, n: int) -> Tensor:
        if self.accel:
            return out.reshape(b, self.num_heads, n, -1).transpose(0, 2, 1, 3).reshape(b, n, self.dim)
        return self._merge_heads(out, b, n)

    def _add(self, x: Tensor, y: Tensor) -> Tensor:
        """x + y broadcast: by Tile on the CPU form (layers.add_tiled), plain on the accelerator form."""
        return x + y if self.accel else add_tiled(x, y)

    def _qkv(self, linear: nn.Cell, x: Tensor, mutual: bool) -> tuple[Tensor, Tensor, Tensor]:
        """q (scaled), k, v as (windows * heads, N, C/heads), split by one row gather."""
        b, n, _ = x.shape
        split = head_split_index(b, n, self.num_heads, mutual)
        head_dim = self.dim // self.num_heads
        q, k, v = ops.split(gather_by(linear(x), split, head_dim).reshape(3, b * self.num_heads, n, head_dim), 1)
        return q.squeeze(0) * self.scale, k.squeeze(0), v.squeeze(0)

    def _merge_heads(self, out: Tensor, b: int, n: int) -> Tensor:
        """(windows * heads, N, C/heads) -> (windows, N, C)."""
        merge = head_merge_index(b, n, self.num_heads, False)
        return gather_by(out, merge, out.shape[-1]).reshape(b, n, self.dim)

    def _masked_softmax(self, attn: Tensor, mask: Tensor | None) -> Tensor:
        """Softmax over the last axis; mask is (1, windows, 1, ..., n, n) against attn (B*windows, ...)."""
        if mask is not None:
            shape = attn.shape
            attn = self._add(attn.reshape((-1, mask.shape[1]) + shape[1:]), mask).reshape(shape)
        return self.softmax(attn)

    def _with_codes(self, q: Tensor, k: Tensor, codes: Tensor, pair: int) -> tuple[Tensor, Tensor]:
        """q and k with the shift mask's codes appended (the CPU form; shift_codes_array says why).

        codes: (2, 1, windows, 1, [1,] n, R) from attention_codes, tiled over the clips of the batch, the
        heads and (mutual attention, pair = 2) the frame pair, which is q's batch order."""
        clips = q.shape[0] // (codes.shape[2] * self.num_heads * pair)
        multiples = (1, clips, 1, self.num_heads) + ((pair,) if pair > 1 else ()) + (1, 1)
        tiled = ops.tile(codes, multiples).reshape(2, q.shape[0], q.shape[1], codes.shape[-1]).astype(q.dtype)
        return ops.cat((q, tiled[0]), axis=-1), ops.cat((k, tiled[1]), axis=-1)

    def _self_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        b, n, _ = x.shape
        q, k, v = self._heads(self.qkv_self, x, False)
        index = constant(self.relative_position_index[:n, :n].reshape(-1), np.int32)
        bias = ops.gather(self.relative_position_bias_table.swapaxes(0, 1), index, 1)
        if self.accel:
            attn = self._add(self.scores(q, k).reshape(b, self.num_heads, n, n), bias.reshape(1, -1, n, n))
            attn = self._masked_softmax(attn, mask)
        else:  # the mask rides in q.k (codes); the bias is one BiasAdd over (windows, heads*n*n), not tiled
            if mask is not None:
                q, k = self._with_codes(q, k, mask, 1)
            attn = ops.bias_add(self.scores(q, k).reshape(b, -1), bias.reshape(-1))
            attn = self.softmax(attn.reshape(b * self.num_heads, n, n))
        out = self.weighted(attn.reshape(-1, n, n), v)
        return self._merge(out, b, n)

    def _mutual_attention(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """Frame 2's queries against frame 1's keys/values, then frame 1's against frame 2's.

        Tokens of a (2, h, w) window are ordered frame by frame, so each head's (N, d) holds the two frames
        as (2, N/2, d); the queries arrive with their frames swapped (head_gather_indices), so one batched
        product over (windows * heads * 2) pairs them, and the result comes out in the reference's order.
        """
        b, n, _ = x.shape
        pos = ops.tile(self.position_bias, (1, 2, 1))
        q, k, v = self._heads(self.qkv_mut, self._add(x, pos), True)
        half = (-1, n // 2, self.dim // self.num_heads)
        if self.accel:
            attn = self.scores(q.reshape(half), k.reshape(half))
            attn = self._masked_softmax(attn.reshape(b, self.num_heads, 2, n // 2, n // 2), mask)
        else:
            q, k = q.reshape(half), k.reshape(half)
            if mask is not None:
                q, k = self._with_codes(q, k, mask, 2)
            attn = self.softmax(self.scores(q, k))
        out = self.weighted(attn.reshape(-1, n // 2, n // 2), v.reshape(half))
        return self._merge(out.reshape(-1, n, half[-1]), b, n)

    def construct(self, x: Tensor, mask: Tensor | None = None, mutual_mask: Tensor | None = None) -> Tensor:
        """mask, mutual_mask: attention_masks (the accelerator form) or attention_codes (the CPU form)."""
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
        self.accel = False  # forms.set_form: windows by pad, roll and reshape/transpose instead of row gathers

    def _attention_plain(self, x: Tensor, mask: Tensor | None, mutual_mask: Tensor | None) -> Tensor:
        """_attention_part as the reference writes it (the accelerator form): pad, roll, partition, back."""
        b, d, h, w, c = x.shape
        window, shift = effective_window((d, h, w), self.window, self.shift)
        y = self.norm1(x)
        sizes = (d, h, w)
        for i in range(3):
            y = zero_pad(y, i + 1, 0, (window[i] - sizes[i] % window[i]) % window[i])
        padded = y.shape[:4]
        shifted = shift[0] > 0 or shift[1] > 0 or shift[2] > 0
        if shifted:
            y = roll_axes(y, (-shift[0], -shift[1], -shift[2]))
        windows = window_partition(y, window)
        windows = self.attn(windows, mask, mutual_mask) if shifted else self.attn(windows)
        y = window_reverse(windows, window, padded)
        if shifted:
            y = roll_axes(y, shift)
        return self.drop_path(y[:, :d, :h, :w])

    def _attention_part(self, x: Tensor, mask: Tensor | None, mutual_mask: Tensor | None) -> Tensor:
        b, d, h, w, c = x.shape
        window, shift = effective_window((d, h, w), self.window, self.shift)
        order = window_order_index((b, d, h, w), window, shift)
        inverse = window_inverse_index((b, d, h, w), window, shift)
        rows = self.norm1(x).reshape(-1, c)
        if order.shape[0] > b * d * h * w:  # padded windows (the reference pads with zeros): one zero row
            rows = ops.cat((rows, ops.zeros((1, c), rows.dtype)))
        windows = gather_by(rows, order, c).reshape(-1, window[0] * window[1] * window[2], c)
        shifted = any(s > 0 for s in shift)
        windows = self.attn(windows, mask, mutual_mask) if shifted else self.attn(windows)
        return self.drop_path(gather_by(windows, inverse, c).reshape(b, d, h, w, c))

    def construct(self, x: Tensor, mask: Tensor | None, mutual_mask: Tensor | None) -> Tensor:
        attention = self._attention_plain if self.accel else self._attention_part
        x = x + attention(x, mask, mutual_mask)
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
        self.accel = False  # forms.set_form: layout by Transpose (the CPU form avoids it, layers.transpose_last)

    def construct(self, x: Tensor) -> Tensor:
        _, _, d, h, w = x.shape
        window, shift = effective_window((d, h, w), self.window, self.shift)
        dp = -(-d // window[0]) * window[0]
        hp = -(-h // window[1]) * window[1]
        wp = -(-w // window[2]) * window[2]
        mask = mutual_mask = None
        if len(self.blocks) > 1 and self.accel:
            mask = self_mask_constant(dp, hp, wp, window, shift)
            mutual_mask = mutual_mask_constant(dp, hp, wp, window, shift)
        elif len(self.blocks) > 1:  # the CPU form carries the masks as codes on q and k
            mask = self_codes_constant(dp, hp, wp, window, shift)
            mutual_mask = mutual_codes_constant(dp, hp, wp, window, shift)
        x = x.transpose(0, 2, 3, 4, 1) if self.accel else channels_last(x)
        for block in self.blocks:
            x = block(x, mask, mutual_mask)
        return x.transpose(0, 4, 1, 2, 3) if self.accel else channels_first(x)


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
        self.accel = False  # forms.set_form: the linear layer between Transposes

    def construct(self, x: Tensor) -> Tensor:
        y = self.residual_group(x)
        if self.accel:
            return x + self.linear(y.transpose(0, 4, 2, 3, 1)).transpose(0, 4, 2, 3, 1)
        return x + channels_first(self.linear(channels_last(y)))
