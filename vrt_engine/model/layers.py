"""Small building blocks shared by the VRT parts.

Parameter names and shapes follow the reference PyTorch modules, so that a state_dict maps onto this
model by name (only LayerNorm's weight/bias are called gamma/beta in MindSpore).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from mindspore import Generator, Parameter, Tensor, nn, ops
from mindspore import dtype as mstype
from mindspore.common.initializer import HeUniform, Uniform, initializer

SQRT1_2 = 0.7071067811865476  # 1 / sqrt(2)
LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default; MindSpore's default (1e-7) would drift.


def layer_norm(dim: int) -> nn.LayerNorm:
    """LayerNorm over the last axis with PyTorch's epsilon."""
    return nn.LayerNorm((dim,), begin_norm_axis=-1, begin_params_axis=-1, epsilon=LAYER_NORM_EPS)


def dense(in_features: int, out_features: int, bias: bool = True) -> nn.Dense:
    """nn.Dense initialised like torch.nn.Linear (kaiming-uniform weight, fan-in uniform bias)."""
    bound = 1.0 / math.sqrt(in_features)
    return nn.Dense(
        in_features,
        out_features,
        weight_init=HeUniform(math.sqrt(5)),
        bias_init=Uniform(bound),
        has_bias=bias,
    )


def conv2d_matmul(x: Tensor, weight: Tensor, bias: Tensor | None, padding: int) -> Tensor:
    """Stride-1 2-D convolution as im2col (ops.unfold) plus one batched matrix product.

    MindSpore 2.10's CPU Conv2D kernel runs at well under 1 GFLOP/s here while its matmul is fast, so
    this form is 15-30x quicker on CPU; values agree with ops.conv2d to float32 rounding. The weight is
    tiled over the batch (BatchMatMul beats MatMul's broadcasting of a 2-D weight) and the bias added by
    BiasAdd (a broadcasting Add is 10x slower; bench/op_speed.py).
    """
    n, _, h, w = x.shape
    out_channels, _, kh, kw = weight.shape
    if kh == 1 and kw == 1 and padding == 0:
        cols = x.reshape(n, x.shape[1], h * w)
    else:
        cols = ops.unfold(x, (kh, kw), padding=padding)
    out = batched_weight_product(weight.reshape(out_channels, -1), cols)
    if bias is not None:
        out = ops.bias_add(out, bias)
    return out.reshape(n, out_channels, h, w)


def conv2d_gathered(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """Stride-1 'same' convolution of (N, C, H, W) frames for inference, without Im2Col or Transpose.

    conv2d_rows' row gather on the frames turned channels last (transpose_last), then one BatchMatMul
    with the cols as its transposed operand, which lands the output channels first. Why: MindSpore
    2.10's CPU Im2Col (ops.unfold) and Transpose kernels keep memory outside the pool until the process
    ends (bench/graph_memory.py), and this is also quicker than conv2d_matmul (22x34x64x64, 3x3 to 16:
    28 against 53 ms). Values agree with conv2d_matmul to float32 rounding; training keeps
    conv2d_matmul (conv2d_rows says why).
    """
    n, c, h, w = x.shape
    out_channels, _, kh, _ = weight.shape
    rows = transpose_last(x.reshape(n, c, h * w)).reshape(-1, c)
    rows = ops.cat((rows, ops.zeros((1, c), x.dtype)))
    cols = gather_by(rows, neighbourhood_index(n, h, w, kh), c).reshape(n, h * w, kh * kh * c)
    taps = weight.transpose(0, 2, 3, 1).reshape(1, out_channels, kh * kh * c)
    out = _PRODUCT_B_TRANSPOSED(ops.tile(taps, (n, 1, 1)), cols)
    return ops.bias_add(out, bias).reshape(n, out_channels, h, w)


_PRODUCT_A_TRANSPOSED = ops.BatchMatMul(transpose_a=True)
_PRODUCT_B_TRANSPOSED = ops.BatchMatMul(transpose_b=True)


def transpose_last(x: Tensor) -> Tensor:
    """(B, M, K) -> (B, K, M) by one BatchMatMul with an identity matrix on the smaller side.

    Exact (each output is one input times 1 plus zeros; inputs are finite). Not Transpose: MindSpore
    2.10's CPU Transpose keeps about two tensors per kernel alive outside its memory pool, for good,
    which made most of the compiled model's memory (bench/graph_memory.py: transpose against
    transpose_by_product); a product with a transposed operand keeps nothing and is quicker too.
    """
    b, m, k = x.shape
    if k <= m:  # (K, K) @ (M, K)^T
        return _PRODUCT_B_TRANSPOSED(_identity(b, k, x.dtype), x)
    return _PRODUCT_A_TRANSPOSED(x, _identity(b, m, x.dtype))  # (M, K)^T @ (M, M)


def _identity(batch: int, size: int, dtype) -> Tensor:
    """`batch` identity matrices of `size`, tiled (BatchMatMul wants them all) and cast to `dtype`."""
    eye = constant(np.eye(size, dtype=np.float32)[None])
    return ops.tile(eye, (batch, 1, 1)).astype(dtype)


def channels_last(x: Tensor) -> Tensor:
    """(N, C, *S) -> (N, *S, C) by transpose_last."""
    n, c = x.shape[0], x.shape[1]
    spatial = x.shape[2:]
    return transpose_last(x.reshape(n, c, -1)).reshape((n,) + spatial + (c,))


def channels_first(x: Tensor) -> Tensor:
    """(N, *S, C) -> (N, C, *S) by transpose_last."""
    n, c = x.shape[0], x.shape[-1]
    spatial = x.shape[1:-1]
    return transpose_last(x.reshape(n, -1, c)).reshape((n, c) + spatial)


def swap_axes12(x: Tensor) -> Tensor:
    """(N, A, B, *S) -> (N, B, A, *S) by one row gather (rows of prod(S) values), not Transpose."""
    n, a, b = x.shape[0], x.shape[1], x.shape[2]
    row = x.size // (n * a * b)
    order = swapped_index(n, a, b)
    return gather_by(x, order, row).reshape((n, b, a) + x.shape[3:])


def _swapped_rows(n: int, a: int, b: int) -> np.ndarray:
    """Row order taking (n, a, b) rows to (n, b, a)."""
    return np.arange(n * a * b, dtype=np.int64).reshape(n, a, b).transpose(0, 2, 1).reshape(-1)


def neighbourhood_rows(n: int, h: int, w: int, kernel: int) -> np.ndarray:
    """Row index of every pixel's kernel x kernel neighbours in (N*H*W) rows, ordered (n, y, x, dy, dx).

    N*H*W names an extra zero row: neighbours outside the frame read zeros (the convolution's padding).
    """
    pad = kernel // 2
    total = n * h * w
    ids = np.arange(total, dtype=np.int64).reshape(n, h, w)
    ids = np.pad(ids, ((0, 0), (pad, pad), (pad, pad)), constant_values=total)
    taps = [ids[:, dy : dy + h, dx : dx + w] for dy in range(kernel) for dx in range(kernel)]
    return np.stack(taps, axis=-1).reshape(-1).astype(np.int32)


def conv2d_rows(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """Stride-1 'same' convolution of channels-last frames, (N, H, W, C) -> (N, H, W, O); for inference.

    Im2col by one row gather (rows of C channels, near memory speed) instead of ops.unfold, then a plain
    MatMul: quicker than conv2d_matmul for SpyNet's 7x7 and the upsampler's 3x3 layers (bench/op_speed.py
    has the 7x7 case). Not for training: the gather's gradient (a scatter-add) is slower than unfold's.
    Values agree with conv2d_matmul to float32 rounding.
    """
    n, h, w, c = x.shape
    out_channels, _, kh, _ = weight.shape
    rows = ops.cat((x.reshape(-1, c), ops.zeros((1, c), x.dtype)))
    cols = gather_by(rows, neighbourhood_index(n, h, w, kh), c).reshape(n * h * w, kh * kh * c)
    out = ops.matmul(cols, weight.transpose(2, 3, 1, 0).reshape(kh * kh * c, out_channels))
    return ops.bias_add(out, bias).reshape(n, h, w, out_channels)


def conv2d_taps(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """conv2d_rows one kernel position at a time: a row gather and a MatMul per position, summed.

    The same products as conv2d_rows without its im2col matrix (kernel*kernel times the input), which
    was most of the compiled model's memory-pool peak at the upsampler's full-size layers. Values agree
    with conv2d_rows to float32 rounding (the sum runs in another order).
    """
    n, h, w, c = x.shape
    out_channels, _, kh, _ = weight.shape
    rows = ops.cat((x.reshape(-1, c), ops.zeros((1, c), x.dtype)))
    taps = weight.transpose(2, 3, 1, 0).reshape(kh * kh, c, out_channels)
    out = ops.matmul(gather_by(rows, tap_index(n, h, w, kh, 0), c), taps[0])
    for tap in range(1, kh * kh):
        # ops.depend: gather this position only once the sum so far exists, so that one position's
        # gathered rows are alive at a time (the graph would otherwise gather them all first)
        picked = gather_by(ops.depend(rows, out), tap_index(n, h, w, kh, tap), c)
        out = out + ops.matmul(picked, taps[tap])
    return ops.bias_add(out, bias).reshape(n, h, w, out_channels)


def tap_rows(n: int, h: int, w: int, kernel: int, tap: int) -> np.ndarray:
    """neighbourhood_rows' column for one kernel position (tap = dy * kernel + dx)."""
    return np.ascontiguousarray(neighbourhood_rows(n, h, w, kernel).reshape(-1, kernel * kernel)[:, tap])


def pixel_shuffle_rows(x: Tensor, factor: int) -> Tensor:
    """Sub-pixel upsampling of channels-last frames whose channels are ordered (i, j, c): (N, H, W, r*r*C)
    -> (N, rH, rW, C), by one row gather. conv2d_rows makes that channel order from torch's (c, i, j) when
    given the weight and bias of shuffle_channel_order."""
    n, h, w, c = x.shape
    r = factor
    return gather_by(x, shuffled_index(n, h, w, r), c // (r * r)).reshape(n, h * r, w * r, c // (r * r))


def _shuffled_rows(n: int, h: int, w: int, r: int) -> np.ndarray:
    """Row order taking (n, h, w, i, j) rows of C channels to (n, h, i, w, j), i.e. to (N, rH, rW) pixels."""
    return np.arange(n * h * w * r * r, dtype=np.int64).reshape(n, h, w, r, r).transpose(0, 1, 3, 2, 4).reshape(-1)


def shuffle_channel_order(channels: int, factor: int) -> np.ndarray:
    """Output channel order (i, j, c) taken from torch PixelShuffle's (c, i, j), for pixel_shuffle_rows."""
    r = factor
    return np.arange(channels, dtype=np.int64).reshape(channels // (r * r), r, r).transpose(1, 2, 0).reshape(-1)


def batched_weight_product(weight: Tensor, cols: Tensor) -> Tensor:
    """(O, K) @ (N, K, L) -> (N, O, L) as one BatchMatMul on the weight tiled N times."""
    return ops.bmm(ops.tile(weight.unsqueeze(0), (cols.shape[0], 1, 1)), cols)


def add_tiled(x: Tensor, y: Tensor) -> Tensor:
    """x + y for a y of x's rank that broadcasts to x's shape, by Tile and a same-shape Add.

    MindSpore 2.10's CPU Add is about 9x slower when it broadcasts than Tile followed by a plain Add
    (bench/op_speed.py); the sums are the same numbers.
    """
    multiples = tuple(a // b for a, b in zip(x.shape, y.shape))
    return x + ops.tile(y, multiples)


def gather_rows(x: Tensor, index: np.ndarray, row: int) -> Tensor:
    """The rows of `row` values of x (flattened) picked by a host-made index, as one flat (rows, row) tensor."""
    return ops.gather(x.reshape(-1, row), constant(index, np.int32), 0)


def gather_by(x: Tensor, index: Tensor, row: int) -> Tensor:
    """gather_rows with an index already made a tensor (by a cached_constant builder)."""
    return ops.gather(x.reshape(-1, row), index, 0)


def cached_constant(builder, dtype=np.int32):
    """`builder` (host arrays from shapes) wrapped to return its array as one cached tensor.

    Why: a graph constant made from an array the host also keeps (an lru_cache of numpy arrays, as
    the index builders had) costs two copies for the graph's life, and the per-pixel indices of row
    gathers grow with the tile (measured with 12 chained gathers of 92 MB indices: about two copies
    each that way, one this way). Call sites with the same shapes share the one tensor. The cache is
    bounded, as the numpy caches were: graphs of other tile sizes evict older entries.
    """

    @lru_cache(maxsize=48)
    def cached(*args) -> Tensor:
        return constant(builder(*args), dtype)

    cached.__doc__ = f"{builder.__name__}(*args) as a cached {np.dtype(dtype).name} tensor."
    return cached


def _conv_parameters(cell: nn.Cell, shape: tuple[int, ...], fan_in: int) -> None:
    """weight/bias named and initialised like torch's Conv layers (kaiming-uniform, fan-in bias)."""
    cell.weight = Parameter(initializer(HeUniform(math.sqrt(5)), shape), name="weight")
    cell.bias = Parameter(initializer(Uniform(1.0 / math.sqrt(fan_in)), (shape[0],)), name="bias")


def conv2d_plain(x: Tensor, weight: Tensor, bias: Tensor, padding: int) -> Tensor:
    """Stride-1 2-D convolution by the framework's own Conv2D (the accelerator form: cuDNN, Ascend's kernel)."""
    return ops.conv2d(x, weight, bias, pad_mode="pad", padding=padding)


class Conv2d(nn.Cell):
    """Stride-1 Conv2d with zero padding, parameters as torch.nn.Conv2d (CPU form: conv2d_matmul)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int):
        super().__init__()
        self.padding = padding
        self.accel = False  # forms.set_form
        _conv_parameters(self, (out_channels, in_channels, kernel_size, kernel_size), in_channels * kernel_size**2)

    def construct(self, x: Tensor) -> Tensor:
        if self.accel:
            return conv2d_plain(x, self.weight, self.bias, self.padding)
        if _gathered(self.training, self.weight.shape[-1], self.padding):
            return conv2d_gathered(x, self.weight, self.bias)
        return conv2d_matmul(x, self.weight, self.bias, self.padding)


def _gathered(training: bool, kernel: int, padding: int) -> bool:
    """Whether a CPU-form convolution runs as conv2d_gathered: in inference, for 'same' kernels above 1."""
    return not training and kernel > 1 and padding == kernel // 2


def conv2d(in_channels: int, out_channels: int, kernel_size: int, padding: int) -> Conv2d:
    """A torch-compatible stride-1 convolution."""
    return Conv2d(in_channels, out_channels, kernel_size, padding)


class FrameConv3d(nn.Cell):
    """A Conv3d with kernel (1, k, k): every frame convolved alone.

    Keeps the reference's 5-D weight (out, in, 1, k, k) so checkpoints map one to one, but runs as a
    2-D convolution over (N*D, C, H, W). Input and output are (N, C, D, H, W), the reference's layout.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.out_channels = out_channels
        self.padding = kernel_size // 2
        self.accel = False  # forms.set_form
        _conv_parameters(self, (out_channels, in_channels, 1, kernel_size, kernel_size), in_channels * kernel_size**2)

    def construct(self, x: Tensor) -> Tensor:
        if self.accel:
            return ops.conv3d(x, self.weight, self.bias, pad_mode="pad", padding=(0, self.padding, self.padding))
        n, c, d, h, w = x.shape
        out = self.frames(swap_axes12(x).reshape(n * d, c, h, w))
        return swap_axes12(out.reshape(n, d, self.out_channels, h, w))

    def frames(self, frames: Tensor) -> Tensor:
        """The same convolution on frames already laid out as (N*D, C, H, W)."""
        if self.accel:
            return conv2d_plain(frames, self.weight.squeeze(2), self.bias, self.padding)
        if _gathered(self.training, self.weight.shape[-1], self.padding):
            return conv2d_gathered(frames, self.weight.squeeze(2), self.bias)
        return conv2d_matmul(frames, self.weight.squeeze(2), self.bias, self.padding)


class ChannelsLast(nn.Cell):
    """(N, C, D, H, W) -> (N, D, H, W, C)."""

    def __init__(self):
        super().__init__()
        self.accel = False  # forms.set_form: Transpose (the CPU form avoids it, transpose_last says why)

    def construct(self, x: Tensor) -> Tensor:
        return x.transpose(0, 2, 3, 4, 1) if self.accel else channels_last(x)


class ChannelsFirst(nn.Cell):
    """(N, D, H, W, C) -> (N, C, D, H, W)."""

    def __init__(self):
        super().__init__()
        self.accel = False  # forms.set_form

    def construct(self, x: Tensor) -> Tensor:
        return x.transpose(0, 4, 1, 2, 3) if self.accel else channels_first(x)


class SpaceToChannels(nn.Cell):
    """Down-reshape of a stage: (N, C, D, 2H, 2W) -> (N, D, H, W, 4C), channel order (dw, dh, c).

    CPU form: channels last, then one row gather of C-channel rows (transpose_last says why)."""

    def __init__(self):
        super().__init__()
        self.accel = False  # forms.set_form

    def construct(self, x: Tensor) -> Tensor:
        n, c, d, h2, w2 = x.shape
        h, w = h2 // 2, w2 // 2
        if self.accel:
            x = x.reshape(n, c, d, h, 2, w, 2)  # n c d h dh w dw
            x = x.transpose(0, 2, 3, 5, 6, 4, 1)  # n d h w dw dh c
            return x.reshape(n, d, h, w, 4 * c)
        return gather_by(channels_last(x), space_to_channel_index(n * d, h, w), c).reshape(n, d, h, w, 4 * c)


class ChannelsToSpace(nn.Cell):
    """Up-reshape of a stage: (N, 4C, D, H, W) -> (N, D, 2H, 2W, C), channels read as (dw, dh, c)."""

    def __init__(self):
        super().__init__()
        self.accel = False  # forms.set_form

    def construct(self, x: Tensor) -> Tensor:
        n, c4, d, h, w = x.shape
        c = c4 // 4
        if self.accel:
            x = x.reshape(n, 2, 2, c, d, h, w)  # n dw dh c d h w
            x = x.transpose(0, 4, 5, 2, 6, 1, 3)  # n d h dh w dw c
            return x.reshape(n, d, 2 * h, 2 * w, c)
        return gather_by(channels_last(x), channel_to_space_index(n * d, h, w), c).reshape(n, d, 2 * h, 2 * w, c)


def _space_to_channel_rows(frames: int, h: int, w: int) -> np.ndarray:
    """Row order taking (frames, h, dh, w, dw) pixels to (frames, h, w, dw, dh)."""
    ids = np.arange(frames * 4 * h * w, dtype=np.int64).reshape(frames, h, 2, w, 2)
    return ids.transpose(0, 1, 3, 4, 2).reshape(-1)


def _channel_to_space_rows(frames: int, h: int, w: int) -> np.ndarray:
    """Row order taking (frames, h, w, dw, dh) rows of C channels to (frames, h, dh, w, dw)."""
    ids = np.arange(frames * h * w * 4, dtype=np.int64).reshape(frames, h, w, 2, 2)
    return ids.transpose(0, 1, 4, 2, 3).reshape(-1)


class GegluMlp(nn.Cell):
    """Feed-forward with a GELU-gated linear unit, as the reference's Mlp_GEGLU."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int | None = None):
        super().__init__()
        out_features = out_features or in_features
        self.fc11 = dense(in_features, hidden_features)
        self.fc12 = dense(in_features, hidden_features)
        self.fc2 = dense(hidden_features, out_features)

    def construct(self, x: Tensor) -> Tensor:
        return self.fc2(gelu(self.fc11(x)) * self.fc12(x))


def gelu(x: Tensor) -> Tensor:
    """Exact GELU, x * (1 + erf(x / sqrt 2)) / 2, written as torch's CPU kernel computes it.

    Not ops.gelu: in graph mode it becomes a division, and a compiled graph with any Div in it keeps every
    intermediate alive until the graph ends (MindSpore 2.10, CPU), which multiplied inference memory.
    """
    return x * 0.5 * (1.0 + ops.erf(x * SQRT1_2))


class LeakyReLU(nn.Cell):
    """LeakyReLU with an explicit slope (the reference uses both 0.1 and torch's default 0.01)."""

    def __init__(self, slope: float):
        super().__init__()
        self.slope = slope

    def construct(self, x: Tensor) -> Tensor:
        return ops.leaky_relu(x, self.slope)


class SwapFrameAxis(nn.Cell):
    """Swap axes 1 and 2 of a 5-D tensor (the reference's Transpose_Dim12)."""

    def construct(self, x: Tensor) -> Tensor:
        return x.swapaxes(1, 2)


class PixelShuffle(nn.Cell):
    """Sub-pixel upsampling over the last three axes, same channel order as torch.nn.PixelShuffle."""

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor

    def construct(self, x: Tensor) -> Tensor:
        r = self.factor
        lead = x.shape[:-3]
        c, h, w = x.shape[-3:]
        x = x.reshape(-1, c // (r * r), r, r, h, w)
        x = x.transpose(0, 1, 4, 2, 5, 3)
        return x.reshape(*lead, c // (r * r), h * r, w * r)


class DropPath(nn.Cell):
    """Stochastic depth for training; the identity in inference.

    The masks come from ``DropPath.generator``, one mindspore.Generator shared by every DropPath, so that a
    trainer can save and restore them (``get_state``/``set_state``) and a resumed run draws the masks of an
    uninterrupted one. Why not ops.rand: its stream lives inside its kernel (a compiled graph restarts it,
    ``mindspore.get_rng_state`` does not hold it), and MindSpore 2.10 has no CPU random kernel that takes a
    generator. So each call advances the generator's offset in place (eager and graph mode alike) and hashes
    (seed, offset + sample) into uniform numbers. Seed it with ``DropPath.generator.manual_seed``.
    """

    generator = Generator()

    def __init__(self, drop_prob: float):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def construct(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        n = x.shape[0]
        # Generator._step is what MindSpore's own random functions call: (seed, offset), then offset += n.
        seed, offset = self.generator._step(Tensor(n, mstype.int64))
        u = self.uniform(seed, offset + ops.arange(n, dtype=mstype.int64))
        mask = (u < keep).astype(x.dtype).reshape((n,) + (1,) * (x.ndim - 1))
        return x / keep * mask

    @staticmethod
    def mix32(x: Tensor) -> Tensor:
        """A 32-bit integer hash in int64 tensors: xor-shifts and multiplies by odd constants (from the
        golden ratio and sqrt 2) below 2**31, so that no product of 32-bit values overflows int64."""
        x = x & 0xFFFFFFFF
        x = ((x ^ (x // 65536)) * 0x4F1BBCDD) & 0xFFFFFFFF
        x = ((x ^ (x // 32768)) * 0x3504F335) & 0xFFFFFFFF
        return x ^ (x // 65536)

    @staticmethod
    def uniform(seed: Tensor, counter: Tensor) -> Tensor:
        """Float32 numbers in [0, 1) on a 2**-24 grid, a function of the int64 seed and counters alone."""
        key = DropPath.mix32(seed ^ DropPath.mix32(counter // 4294967296))
        bits = DropPath.mix32(DropPath.mix32(key ^ (counter & 0xFFFFFFFF)))
        return (bits // 256).astype(mstype.float32) * (1.0 / 16777216)


def constant(array: np.ndarray, dtype=np.float32) -> Tensor:
    """A non-trainable tensor made on the host (masks, indices, position encodings)."""
    return Tensor(np.ascontiguousarray(array, dtype=dtype))


def zero_pad(x: Tensor, axis: int, before: int, after: int) -> Tensor:
    """x with `before` and `after` zeros added along `axis` (>= 0), by concatenation.

    Not ops.pad: on CPU in graph mode, MindSpore 2.10's gradient of a constant ops.pad is right only on the
    first run of a compiled graph and wrong (varying) on later runs, which spoilt graph-mode training and
    made a resumed run differ from an uninterrupted one. The values are exactly those of ops.pad.
    """
    parts = []
    if before:
        parts.append(ops.zeros(x.shape[:axis] + (before,) + x.shape[axis + 1 :], x.dtype))
    parts.append(x)
    if after:
        parts.append(ops.zeros(x.shape[:axis] + (after,) + x.shape[axis + 1 :], x.dtype))
    return ops.cat(parts, axis=axis) if len(parts) > 1 else x


neighbourhood_index = cached_constant(neighbourhood_rows)
tap_index = cached_constant(tap_rows)
swapped_index = cached_constant(_swapped_rows)
shuffled_index = cached_constant(_shuffled_rows)
space_to_channel_index = cached_constant(_space_to_channel_rows)
channel_to_space_index = cached_constant(_channel_to_space_rows)
