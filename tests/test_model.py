"""Model parts against hand-worked cases and invariants; a small VRT end to end."""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from vrt_engine.model import PRESETS, build_model, config_from  # noqa: E402
from vrt_engine.model.alignment import modulated_deform_conv  # noqa: E402
from vrt_engine.model.attention import (  # noqa: E402
    effective_window,
    relative_position_index,
    shift_mask_array,
    window_gather_indices,
    window_partition,
)
from vrt_engine.model.layers import (  # noqa: E402
    PixelShuffle,
    conv2d_matmul,
    conv2d_rows,
    pixel_shuffle_rows,
    shuffle_channel_order,
)
from vrt_engine.model.spynet import flow_warp, flow_warp_nearest4  # noqa: E402

# Every part of VRT present (mutual + shifted attention, stage 8 with an independent-reconstruction
# layer, parallel warping) at a size that runs in seconds.
MICRO = dict(
    upscale=4, img_size=[4, 64, 64], window_size=[2, 8, 8], depths=[2] * 7 + [2, 2], indep_reconsts=[8],
    embed_dims=[8] * 7 + [12, 12], num_heads=[2] * 9, pa_frames=2, deformable_groups=2, num_feat=8,
)


def test_window_partition_and_reverse_are_inverses():
    """The model reverses a partition with window_gather_indices' `inverse` rows."""
    x = np.random.default_rng(0).random((2, 4, 16, 24, 3)).astype(np.float32)
    windows = window_partition(x, (2, 8, 8))
    assert windows.shape == (2 * 2 * 2 * 3, 2 * 8 * 8, 3)
    _, inverse = window_gather_indices((2, 4, 16, 24), (2, 8, 8), (0, 0, 0))
    np.testing.assert_array_equal(windows.reshape(-1, 3)[inverse].reshape(x.shape), x)
    # first window holds frames 0-1, rows 0-7, cols 0-7 in (d, h, w) order
    np.testing.assert_array_equal(windows[0].reshape(2, 8, 8, 3), x[0, :2, :8, :8])


def test_shift_mask_matches_hand_worked_case():
    # one axis of 4 cells, window 2, shift 1: regions are [0, 0, 1, 2] along w (d and h unshifted)
    mask = shift_mask_array(1, 1, 4, (1, 1, 2), (0, 0, 1))
    assert mask.shape == (2, 2, 2)
    np.testing.assert_array_equal(mask[0], [[0, 0], [0, 0]])  # cells 0,1: same region
    np.testing.assert_array_equal(mask[1], [[0, -100], [-100, 0]])  # cells 2,3: different regions


def test_effective_window_shrinks_and_cancels_shift():
    assert effective_window((2, 16, 8), (6, 8, 8), (3, 4, 4)) == ((2, 8, 8), (0, 4, 0))


def test_relative_position_index_is_symmetric_in_offset():
    idx = relative_position_index((2, 2, 2))
    assert idx.shape == (8, 8)
    assert idx[0, 0] == idx[7, 7]  # zero offset maps to one entry
    assert len(np.unique(idx)) == 27  # (2*2-1)^3 distinct offsets


def test_window_gather_indices_pad_roll_partition_and_come_back():
    """One gather does what the reference does with zero padding, torch.roll and window partition."""
    b, d, h, w, c = 2, 3, 5, 6, 2
    window, shift = (2, 4, 4), (1, 2, 2)
    x = np.random.default_rng(2).random((b, d, h, w, c)).astype(np.float32)
    order, inverse = window_gather_indices((b, d, h, w), window, shift)
    padded = np.pad(x, [(0, 0), (0, 1), (0, 3), (0, 2), (0, 0)])
    expected = window_partition(np.roll(padded, (-1, -2, -2), axis=(1, 2, 3)), window)
    rows = np.concatenate((x.reshape(-1, c), np.zeros((1, c), np.float32)))
    np.testing.assert_array_equal(rows[order].reshape(expected.shape), expected)
    np.testing.assert_array_equal(expected.reshape(-1, c)[inverse].reshape(x.shape), x)


def test_zero_flow_warps_to_identity():
    x = np.random.default_rng(1).random((2, 3, 9, 13)).astype(np.float32)
    flow = np.zeros((2, 9, 13, 2), np.float32)
    np.testing.assert_allclose(flow_warp(ms.Tensor(x), ms.Tensor(flow)).asnumpy(), x, atol=1e-6)
    near = flow_warp_nearest4(ms.Tensor(x), ms.Tensor(flow)).asnumpy()
    np.testing.assert_allclose(near, np.concatenate([x] * 4, axis=1), atol=1e-6)


def test_integer_flow_shifts_image():
    x = np.random.default_rng(2).random((1, 1, 6, 7)).astype(np.float32)
    flow = np.zeros((1, 6, 7, 2), np.float32)
    flow[..., 0] = 1.0  # sample one pixel to the right
    out = flow_warp(ms.Tensor(x), ms.Tensor(flow)).asnumpy()
    np.testing.assert_allclose(out[..., :-1], x[..., 1:], atol=1e-6)
    np.testing.assert_allclose(out[..., -1], 0.0, atol=1e-6)  # zeros padding outside


def test_matmul_convolution_equals_framework_convolution():
    rng = np.random.default_rng(3)
    x = ms.Tensor(rng.random((2, 5, 11, 9), dtype=np.float32))
    w = ms.Tensor(rng.standard_normal((4, 5, 3, 3)).astype(np.float32))
    b = ms.Tensor(rng.standard_normal(4).astype(np.float32))
    expected = ms.ops.conv2d(x, w, b, 1, "pad", 1).asnumpy()
    np.testing.assert_allclose(conv2d_matmul(x, w, b, 1).asnumpy(), expected, atol=1e-5)


@pytest.mark.parametrize("kernel", [3, 7])
def test_channels_last_row_gather_convolution_equals_framework_convolution(kernel):
    """conv2d_rows (inference's im2col by row gather, channels last) gives ops.conv2d's numbers."""
    rng = np.random.default_rng(5)
    x = rng.random((2, 5, 11, 9), dtype=np.float32)
    w = ms.Tensor(rng.standard_normal((4, 5, kernel, kernel)).astype(np.float32))
    b = ms.Tensor(rng.standard_normal(4).astype(np.float32))
    expected = ms.ops.conv2d(ms.Tensor(x), w, b, 1, "pad", kernel // 2).asnumpy()
    out = conv2d_rows(ms.Tensor(x.transpose(0, 2, 3, 1)), w, b).asnumpy()
    np.testing.assert_allclose(out.transpose(0, 3, 1, 2), expected, atol=1e-4)


def test_channels_last_pixel_shuffle_of_reordered_channels_equals_torch_order_shuffle():
    """Channels put in shuffle_channel_order, then pixel_shuffle_rows, give PixelShuffle's frames."""
    x = np.random.default_rng(6).random((2, 12, 3, 5), dtype=np.float32)  # 12 = 3 channels x 2 x 2
    expected = PixelShuffle(2)(ms.Tensor(x)).asnumpy()
    rows = x.transpose(0, 2, 3, 1)[..., shuffle_channel_order(12, 2)]
    out = pixel_shuffle_rows(ms.Tensor(np.ascontiguousarray(rows)), 2).asnumpy()
    np.testing.assert_array_equal(out.transpose(0, 3, 1, 2), expected)


def test_inference_and_training_forms_of_spynet_and_reconstruction_agree():
    """Inference runs SpyNet and the upsampler channels last (conv2d_rows); training keeps unfold (whose
    gradient is quicker). Without drop path, both forms give one model the same output."""
    net = build_model(MICRO | {"drop_path_rate": 0.0})
    x = ms.Tensor(np.random.default_rng(7).random((1, 4, 3, 64, 96), dtype=np.float32))
    net.set_train(True)
    trained_form = net(x).asnumpy()
    net.set_train(False)
    np.testing.assert_allclose(net(x).asnumpy(), trained_form, atol=1e-5)


def test_deformable_conv_with_zero_offsets_and_unit_mask_is_plain_convolution():
    rng = np.random.default_rng(4)
    groups = 2
    x = ms.Tensor(rng.random((1, 4, 7, 8), dtype=np.float32))
    w = ms.Tensor(rng.standard_normal((6, 4, 3, 3)).astype(np.float32))
    b = ms.Tensor(rng.standard_normal(6).astype(np.float32))
    offset = ms.Tensor(np.zeros((1, groups * 18, 7, 8), np.float32))
    mask = ms.Tensor(np.ones((1, groups * 9, 7, 8), np.float32))
    out = modulated_deform_conv(x, offset, mask, w, b, groups).asnumpy()
    np.testing.assert_allclose(out, ms.ops.conv2d(x, w, b, 1, "pad", 1).asnumpy(), atol=1e-5)


def _numpy_deform_conv(x, offset, mask, weight, bias, groups):
    """torchvision.ops.deform_conv2d (3x3, stride 1, padding 1) written out in numpy: each sample is the
    bilinear mix of its four neighbours, a neighbour outside the image counting as zero."""
    n, c, h, w = x.shape
    off = offset.reshape(n, groups, 9, 2, h, w)
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    cols = np.zeros((n, c, 9, h, w), np.float64)
    for k in range(9):
        ky, kx = divmod(k, 3)
        for g in range(groups):
            py = ys - 1 + ky + off[:, g, k, 0]
            px = xs - 1 + kx + off[:, g, k, 1]
            y0, x0 = np.floor(py).astype(int), np.floor(px).astype(int)
            ly, lx = py - y0, px - x0
            chans = slice(g * c // groups, (g + 1) * c // groups)
            for cy, cx, wt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx),
                               (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)):
                inside = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
                picked = np.stack([x[i, chans][:, np.clip(cy[i], 0, h - 1), np.clip(cx[i], 0, w - 1)]
                                   for i in range(n)])
                cols[:, chans, k] += picked * (wt * inside)[:, None]
            cols[:, chans, k] *= mask.reshape(n, groups, 9, h, w)[:, g, k][:, None]
    out = np.einsum("ock,nckhw->nohw", weight.reshape(weight.shape[0], c, 9), cols)
    return out + bias.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("gathered", [False, True])
def test_deformable_conv_with_fractional_offsets_matches_numpy_version(gathered):
    """Fractional offsets, some reaching outside the image (partly and wholly), and random masks; the
    grid_sample form and the row-gather form of CPU inference (deform_sampling)."""
    from vrt_engine.model.deform_sampling import modulated_deform_conv_gathered

    rng = np.random.default_rng(7)
    groups, n, c, h, w = 2, 2, 6, 5, 7
    x = rng.random((n, c, h, w), dtype=np.float32)
    offset = (rng.standard_normal((n, groups * 18, h, w)) * 2.5).astype(np.float32)
    offset[0, :4, 0, 0] = [-1.5, 0.25, 9.0, -9.0]  # one sample half outside, one wholly outside
    mask = rng.random((n, groups * 9, h, w), dtype=np.float32)
    weight = rng.standard_normal((4, c, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    offset[1, 26:28, 0, 0] = [-1.0, 0.5]  # group 1's centre tap at y = -1 exactly: zero, as torchvision
    deform = modulated_deform_conv_gathered if gathered else modulated_deform_conv
    out = deform(*(ms.Tensor(a) for a in (x, offset, mask, weight, bias)), groups).asnumpy()
    expected = _numpy_deform_conv(x.astype(np.float64), offset, mask, weight, bias, groups)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_deformable_conv_integer_offset_samples_neighbour():
    rng = np.random.default_rng(5)
    x = rng.random((1, 1, 6, 6), dtype=np.float32)
    w = np.zeros((1, 1, 3, 3), np.float32)
    w[0, 0, 1, 1] = 1.0  # centre tap only: output = input sampled at the centre offset
    offset = np.zeros((1, 18, 6, 6), np.float32)
    offset[0, 4 * 2 + 0] = 1.0  # centre position, dy = +1 (torchvision order: (dy, dx))
    mask = np.ones((1, 9, 6, 6), np.float32)
    out = modulated_deform_conv(
        ms.Tensor(x), ms.Tensor(offset), ms.Tensor(mask), ms.Tensor(w), ms.Tensor(np.zeros(1, np.float32)), 1
    ).asnumpy()
    np.testing.assert_allclose(out[0, 0, :-1], x[0, 0, 1:], atol=1e-6)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_with_expected_sizes(name):
    model = build_model(name)
    count = sum(int(np.prod(p.shape)) for p in model.get_parameters())
    if name == "reds_6f":
        assert count == 30_676_435  # the reference's 001 model: 30.68 M parameters
    assert count > 0


def test_unknown_architecture_key_is_refused():
    with pytest.raises(ValueError, match="unknown architecture key"):
        config_from(dict(MICRO, windowsize=[2, 8, 8]))
    with pytest.raises(ValueError, match="unknown model preset"):
        config_from("reds_99f")


@pytest.mark.parametrize("shape", [(1, 4, 3, 64, 64), (2, 3, 3, 64, 72)])
def test_micro_vrt_forward_shapes(shape):
    model = build_model(MICRO)
    x = np.random.default_rng(6).random(shape, dtype=np.float32)
    y = model(ms.Tensor(x)).asnumpy()
    n, d, c, h, w = shape
    assert y.shape == (n, d, c, 4 * h, 4 * w)
    assert np.isfinite(y).all()


def test_spynet_skipping_levels_resizes_its_last_flow_to_every_scale():
    from vrt_engine.model.spynet import SpyNet

    rng = np.random.default_rng(3)
    ref = ms.Tensor(rng.random((1, 3, 64, 96), dtype=np.float32))
    supp = ms.Tensor(np.roll(ref.asnumpy(), 2, axis=3))
    full, short = SpyNet(), SpyNet(finest_level=3)
    short_params = {p.name: p for p in short.get_parameters()}
    for p in full.get_parameters():  # the shared coarse levels get the same weights
        if p.name in short_params:
            short_params[p.name].set_data(p.data)
    assert len(list(short.get_parameters())) < len(list(full.get_parameters()))
    flows_full = [f.asnumpy() for f in full(ref, supp)]
    flows_short = [f.asnumpy() for f in short(ref, supp)]
    assert [f.shape for f in flows_short] == [f.shape for f in flows_full] == [
        (1, 2, 64 // s, 96 // s) for s in (1, 2, 4, 8)
    ]
    # Levels up to the finest computed one are the full network's own flows.
    np.testing.assert_allclose(flows_short[2], flows_full[2], atol=1e-5)
    np.testing.assert_allclose(flows_short[3], flows_full[3], atol=1e-5)
    # Finer scales are that flow resized, with vectors scaled by the size ratio (x2 and x4).
    coarse = flows_short[2]
    assert abs(flows_short[0].mean() - 4 * coarse.mean()) < 1e-3 * max(1.0, abs(coarse).max())
    assert abs(flows_short[1].mean() - 2 * coarse.mean()) < 1e-3 * max(1.0, abs(coarse).max())
    assert np.abs(coarse).max() > 0  # random weights give a non-zero flow, so the checks above mean something


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_shift_codes_carry_the_shift_mask():
    """q.k over the codes is 0 exactly where the mask is 0 and MASK_VALUE once per differing axis elsewhere."""
    from vrt_engine.model.attention import MASK_VALUE, shift_codes_array

    for size, window, shift in [((2, 8, 8), (2, 4, 4), (1, 2, 2)), ((4, 16, 8), (2, 8, 8), (1, 4, 4)),
                                ((1, 1, 4), (1, 1, 2), (0, 0, 1))]:
        mask = shift_mask_array(*size, window, shift)
        q, k = shift_codes_array(*size, window, shift)
        product = q @ k.transpose(0, 2, 1)
        np.testing.assert_array_equal(product == 0, mask == 0)
        assert set(np.unique(product / MASK_VALUE)) <= {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize("accel", [False, True])
def test_window_attention_with_mutual_part_matches_a_plain_numpy_version(accel):
    """Self attention with bias and mask, and mutual attention (frame 2 queries frame 1 and vice versa),
    written out head by head in numpy as the reference does; guards the Split/flip layout of the cell.
    Both forms: the accelerator's adds the masks, the CPU's carries them as codes on q and k."""
    from vrt_engine.model.attention import WindowAttention, attention_codes, attention_masks, sine_position_encoding

    dim, heads, window = 8, 2, (2, 4, 4)
    n, half, hd = 32, 16, 4
    cell = WindowAttention(dim, window, heads, qkv_bias=True, mut_attn=True)
    cell.accel = accel
    rng = np.random.default_rng(3)
    for p in cell.get_parameters():
        p.set_data(ms.Tensor(rng.standard_normal(p.shape).astype(np.float32) * 0.3))
    mask, mutual_mask = (attention_masks if accel else attention_codes)(2, 8, 8, window, (1, 2, 2))  # 4 windows
    b = 2 * 4  # two clips of 4 windows
    x = rng.standard_normal((b, n, dim)).astype(np.float32)
    out = cell(ms.Tensor(x), ms.Tensor(mask), ms.Tensor(mutual_mask)).asnumpy()

    params = {f"{layer}.{kind}": getattr(getattr(cell, layer), kind).asnumpy()
              for layer in ("qkv_self", "qkv_mut", "proj") for kind in ("weight", "bias")}
    table = cell.relative_position_bias_table.asnumpy()
    bias = table[relative_position_index(window).reshape(-1)].reshape(n, n, heads).transpose(2, 0, 1)
    window_mask = shift_mask_array(2, 8, 8, window, (1, 2, 2))

    def qkv(name, inp):
        y = inp @ params[f"{name}.weight"].T + params[f"{name}.bias"]
        return [y[..., i * dim:(i + 1) * dim] for i in range(3)]

    def attend(q, k, v, extra):
        rows = []
        for h in range(heads):
            cols = slice(h * hd, (h + 1) * hd)
            a = (q[:, cols] * hd**-0.5) @ k[:, cols].T + extra[h]
            rows.append(_softmax(a) @ v[:, cols])
        return np.concatenate(rows, axis=1)

    pos = np.tile(sine_position_encoding(window[1:], dim // 2), (1, 2, 1))[0]
    expected = []
    for i in range(b):
        m = window_mask[i % 4]
        q, k, v = qkv("qkv_self", x[i])
        self_part = attend(q, k, v, [bias[h] + m for h in range(heads)])
        q, k, v = qkv("qkv_mut", x[i] + pos)
        mm = [m[:half, :half]] * heads
        first = attend(q[half:], k[:half], v[:half], mm)  # frame 2's queries against frame 1
        second = attend(q[:half], k[half:], v[half:], mm)
        both = np.concatenate([np.concatenate([first, second], axis=0), self_part], axis=1)
        expected.append(both @ params["proj.weight"].T + params["proj.bias"])
    np.testing.assert_allclose(out, np.stack(expected), rtol=1e-4, atol=1e-5)


def test_drop_path_masks_advance_and_replay_from_the_generator_state_in_a_compiled_graph():
    """What exact resume with drop path rests on: a compiled step draws new masks on every call, and
    restoring the generator's saved state makes it draw the same masks again."""
    from vrt_engine.model.layers import DropPath

    cell = DropPath(0.5)
    cell.set_train(True)
    step = ms.jit(cell.construct)
    x = ms.Tensor(np.ones((256, 2), np.float32))
    DropPath.generator.manual_seed(7)
    first = step(x).asnumpy()
    state = DropPath.generator.get_state()
    second = step(x).asnumpy()
    DropPath.generator.set_state(state)
    again = step(x).asnumpy()
    assert not np.array_equal(first, second)  # the offset advanced
    np.testing.assert_array_equal(second, again)  # and the saved state replays it
    assert set(np.unique(second)) == {0.0, 2.0}  # kept samples scaled by 1 / keep
    assert 0.35 < (second[:, 0] > 0).mean() < 0.65
    cell.set_train(False)
    np.testing.assert_array_equal(ms.jit(cell.construct)(x).asnumpy(), x.asnumpy())  # inference: identity


def test_gathered_deformable_conv_counts_rows_in_float32_under_half_precision():
    """float16 features and offsets: positions and row numbers stay float32 (float16 cannot count past
    2048 rows), so the result is the float32 one to float16 rounding."""
    from vrt_engine.model.deform_sampling import modulated_deform_conv_gathered

    rng = np.random.default_rng(11)
    groups, n, c, h, w = 2, 2, 8, 24, 40  # 2 x 27 x 43 x 2 padded rows: above float16's 2048
    arrays = [
        rng.random((n, c, h, w), dtype=np.float32),
        (rng.standard_normal((n, groups * 18, h, w)) * 3).astype(np.float32),
        rng.random((n, groups * 9, h, w), dtype=np.float32),
        (rng.standard_normal((5, c, 3, 3)) * 0.2).astype(np.float32),
        np.zeros(5, np.float32),
    ]
    full = modulated_deform_conv_gathered(*(ms.Tensor(a) for a in arrays), groups).asnumpy()
    half = modulated_deform_conv_gathered(*(ms.Tensor(a.astype(np.float16)) for a in arrays), groups)
    assert half.dtype == ms.float16
    np.testing.assert_allclose(half.asnumpy().astype(np.float32), full, atol=2e-2)
