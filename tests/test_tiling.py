"""Tiling must reproduce the reference test_video/test_clip arithmetic exactly.

The oracle below follows the reference's structure literally (full-size accumulator and weight,
patches multiplied by a 0/1 mask with its ``-overlap//2`` slices) so that it is an independent
second implementation of the same arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest

from vrt_engine.tiling import (
    ChunkPlan,
    TemporalBlender,
    auto_tile,
    blend_stream,
    chunk_starts,
    flip_pad,
    frames_needed,
    pad_to_multiple,
    plan_work,
    smaller_tile,
    tile_starts,
    upscale_chunk,
    upscale_clip,
    upscale_video,
)

SCALE = 2


def toy_forward(x: np.ndarray) -> np.ndarray:
    """Nearest 2x upsample plus terms that depend on position inside the piece and on the whole piece.

    Local coordinates make every tiling or chunking mistake visible; the temporal mean couples
    frames so which frames share a chunk matters too.
    """
    n, d, c, h, w = x.shape
    up = x.repeat(SCALE, axis=3).repeat(SCALE, axis=4)
    rows = np.arange(h * SCALE, dtype=np.float32)[:, None]
    cols = np.arange(w * SCALE, dtype=np.float32)[None, :]
    frames = np.arange(d, dtype=np.float32)[:, None, None, None]
    local = 0.01 * rows + 0.003 * cols * cols / (w * SCALE) + 0.05 * frames
    context = 0.1 * x.mean(axis=1, keepdims=True).repeat(SCALE, axis=3).repeat(SCALE, axis=4)
    return (up + local + context).astype(np.float32)


def ref_test_clip(lq, model, sf, tile, overlap, window):
    if tile:
        b, d, c, h, w = lq.shape
        stride = tile - overlap
        h_idx_list = list(range(0, h - tile, stride)) + [max(0, h - tile)]
        w_idx_list = list(range(0, w - tile, stride)) + [max(0, w - tile)]
        E = np.zeros((b, d, c, h * sf, w * sf), np.float32)
        W = np.zeros_like(E)
        for h_idx in h_idx_list:
            for w_idx in w_idx_list:
                out_patch = model(lq[..., h_idx : h_idx + tile, w_idx : w_idx + tile]).copy()
                mask = np.ones_like(out_patch)
                if h_idx < h_idx_list[-1]:
                    out_patch[..., -overlap // 2 :, :] *= 0
                    mask[..., -overlap // 2 :, :] *= 0
                if w_idx < w_idx_list[-1]:
                    out_patch[..., :, -overlap // 2 :] *= 0
                    mask[..., :, -overlap // 2 :] *= 0
                if h_idx > h_idx_list[0]:
                    out_patch[..., : overlap // 2, :] *= 0
                    mask[..., : overlap // 2, :] *= 0
                if w_idx > w_idx_list[0]:
                    out_patch[..., :, : overlap // 2] *= 0
                    mask[..., :, : overlap // 2] *= 0
                E[..., h_idx * sf : (h_idx + tile) * sf, w_idx * sf : (w_idx + tile) * sf] += out_patch
                W[..., h_idx * sf : (h_idx + tile) * sf, w_idx * sf : (w_idx + tile) * sf] += mask
        return E / W
    h_old, w_old = lq.shape[3:]
    h_pad = (window[1] - h_old % window[1]) % window[1]
    w_pad = (window[2] - w_old % window[2]) % window[2]
    if h_pad:
        lq = np.concatenate([lq, lq[:, :, :, -h_pad:, :][:, :, :, ::-1, :]], 3)
    if w_pad:
        lq = np.concatenate([lq, lq[:, :, :, :, -w_pad:][:, :, :, :, ::-1]], 4)
    return model(lq)[:, :, :, : h_old * sf, : w_old * sf]


def ref_test_video(lq, model, sf, tile3, overlap3, window):
    T = tile3[0]
    if T:
        b, d, c, h, w = lq.shape
        stride = T - overlap3[0]
        d_idx_list = list(range(0, d - T, stride)) + [max(0, d - T)]
        E = np.zeros((b, d, c, h * sf, w * sf), np.float32)
        W = np.zeros((b, d, 1, 1, 1), np.float32)
        for d_idx in d_idx_list:
            out_clip = ref_test_clip(lq[:, d_idx : d_idx + T], model, sf, tile3[1], overlap3[1], window)
            E[:, d_idx : d_idx + T] += out_clip
            W[:, d_idx : d_idx + T] += np.ones((b, min(T, d), 1, 1, 1), np.float32)
        return E / W
    d_old = lq.shape[1]
    d_pad = (window[0] - d_old % window[0]) % window[0]
    if d_pad:
        lq = np.concatenate([lq, lq[:, -d_pad:][:, ::-1]], 1)
    return ref_test_clip(lq, model, sf, tile3[1], overlap3[1], window)[:, :d_old]


def random_clip(d: int, h: int, w: int, seed: int = 0, n: int = 1, c: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).random((n, d, c, h, w), dtype=np.float32)


# ---------------------------------------------------------------- index lists


def test_index_lists_hand_values():
    assert chunk_starts(10, 6, 2) == [0, 4]
    assert chunk_starts(11, 6, 2) == [0, 4, 5]  # last chunk overlaps the previous by 5 frames
    assert chunk_starts(6, 6, 2) == [0]
    assert chunk_starts(5, 6, 2) == [0]
    assert chunk_starts(100, 40, 2) == [0, 38, 60]
    assert chunk_starts(7, 0, 0) == [0]
    assert tile_starts(128, 128, 20) == [0]
    assert tile_starts(236, 128, 20) == [0, 108]
    assert tile_starts(237, 128, 20) == [0, 108, 109]
    assert tile_starts(50, 16, 0) == [0, 16, 32, 34]


@pytest.mark.parametrize(("size", "piece", "overlap"), [(10, 6, 6), (10, 6, 7), (10, 6, -1), (0, 6, 2)])
def test_index_lists_reject_bad_overlap(size, piece, overlap):
    with pytest.raises(ValueError):
        tile_starts(size, piece, overlap)


# ---------------------------------------------------------------- padding


def test_flip_pad_repeats_edge_like_reference():
    x = np.arange(4, dtype=np.float32)
    assert flip_pad(x, 0, 6).tolist() == [0, 1, 2, 3, 3, 2]
    assert flip_pad(x, 0, 4).tolist() == [0, 1, 2, 3]
    # symmetric (edge repeated), not numpy's 'reflect'
    np.testing.assert_array_equal(flip_pad(x, 0, 7), np.pad(x, (0, 3), mode="symmetric"))
    assert flip_pad(x, 0, 7).tolist() != np.pad(x, (0, 3), mode="reflect").tolist()
    # more padding than samples: x[-p:] is the whole axis, appended once (result stays short)
    assert flip_pad(np.array([5.0, 7.0]), 0, 6).tolist() == [5, 7, 7, 5]


def test_pad_to_multiple_axes():
    clip = random_clip(5, 9, 13)
    padded = pad_to_multiple(clip, (6, 8, 8))
    assert padded.shape == (1, 5, 3, 16, 16)
    np.testing.assert_array_equal(padded[..., :9, :13], clip)
    np.testing.assert_array_equal(padded[..., 9, :13], clip[..., 8, :])
    np.testing.assert_array_equal(padded[..., 15, :13], clip[..., 2, :])
    np.testing.assert_array_equal(padded[..., 10, 13], clip[..., 7, 12])
    np.testing.assert_array_equal(padded[..., 12, 14], clip[..., 5, 11])
    assert pad_to_multiple(clip, (6, 8, 8), temporal=True).shape == (1, 6, 3, 16, 16)


# ---------------------------------------------------------------- spatial tiles


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap"),
    [(24, 40, 16, 4), (37, 29, 16, 5), (40, 24, 16, 8), (20, 20, 8, 3), (12, 50, 16, 2), (32, 32, 32, 4)],
)
def test_upscale_clip_matches_reference(h, w, tile, overlap):
    clip = random_clip(3, h, w, seed=h * w)
    ours = upscale_clip(clip, toy_forward, SCALE, tile, overlap, (6, 8, 8))
    ref = ref_test_clip(clip, toy_forward, SCALE, tile, overlap, (6, 8, 8))
    assert ours.dtype == np.float32
    assert ours.shape == (1, 3, 3, h * SCALE, w * SCALE)
    np.testing.assert_array_equal(ours, ref)


def test_odd_overlap_drops_ceil_trailing_floor_leading_output_pixels():
    """Hand example: rows 0..11, tiles at rows 0 and 4 of 8, overlap 3, scale 1.

    First tile keeps rows 0..5 (drops ceil(3/2) = 2 trailing rows), second keeps 5..11 (drops
    3//2 = 1 leading row): only row 5 is averaged.
    """
    calls = []

    def tile_id(x):
        calls.append(x.shape)
        return np.full(x.shape, float(len(calls)), dtype=np.float32)

    clip = np.zeros((1, 1, 1, 12, 4), np.float32)
    out = upscale_clip(clip, tile_id, 1, tile=8, overlap=3, window_size=4)
    assert [s[3:] for s in calls] == [(8, 4), (8, 4)]
    assert out[0, 0, 0, :, 0].tolist() == [1, 1, 1, 1, 1, 1.5, 2, 2, 2, 2, 2, 2]


def test_border_drop_is_in_output_pixels_not_scaled():
    """Overlap 4 at scale 2 drops 2 output rows per side (the reference's rule), not 4."""
    calls = []

    def tile_id(x):
        calls.append(1)
        n, d, c, h, w = x.shape
        return np.full((n, d, c, 2 * h, 2 * w), float(len(calls)), dtype=np.float32)

    clip = np.zeros((1, 1, 1, 12, 8), np.float32)  # tiles at rows 0 and 4, 4 input rows shared
    out = upscale_clip(clip, tile_id, 2, tile=8, overlap=4, window_size=4)[0, 0, 0, :, 0]
    assert out.tolist() == [1] * 10 + [1.5] * 4 + [2] * 10


def test_zero_overlap_gives_no_nan_and_joins_tiles():
    """The reference would zero whole tiles (x[-0:]) and divide 0/0; zero overlap must just butt tiles."""
    clip = random_clip(2, 24, 40, seed=3)
    out = upscale_clip(clip, lambda x: x.repeat(2, 3).repeat(2, 4), 2, tile=16, overlap=0, window_size=8)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, clip.repeat(2, 3).repeat(2, 4))


def test_tile_must_be_window_multiple():
    with pytest.raises(ValueError):
        upscale_clip(random_clip(1, 16, 16), toy_forward, SCALE, tile=12, overlap=2, window_size=8)


def test_forward_with_wrong_shape_is_reported():
    with pytest.raises(ValueError, match="forward returned"):
        upscale_clip(random_clip(1, 16, 16), lambda x: x, SCALE)


# ---------------------------------------------------------------- whole-clip property


def test_single_piece_equals_one_forward_on_padded_clip():
    clip = random_clip(5, 13, 19, seed=7)
    window = (6, 8, 8)
    # whole video (chunk 0), no tiles: padded in D, H and W, then cropped
    whole = toy_forward(pad_to_multiple(clip, window, temporal=True))[:, :5, :, :26, :38]
    assert np.array_equal(upscale_video(clip, toy_forward, SCALE, 0, 0, 0, 0, window), whole)
    # one chunk (chunk >= frames) and no tiles: padded in H and W only
    hw = toy_forward(pad_to_multiple(clip, window))[..., :26, :38]
    assert np.array_equal(upscale_video(clip, toy_forward, SCALE, 8, 2, 0, 0, window), hw)
    assert not np.array_equal(hw, whole)  # the temporal padding does change the toy output
    # one tile covering the frame: the clip goes through unpadded
    assert np.array_equal(upscale_video(clip, toy_forward, SCALE, 5, 2, 32, 4, window), toy_forward(clip))


# ---------------------------------------------------------------- temporal chunks

VIDEO_CASES = [
    # frames, h, w, chunk, chunk_overlap, tile, tile_overlap
    (11, 20, 28, 6, 2, 16, 4),
    (10, 20, 28, 6, 2, 0, 0),
    (9, 17, 23, 4, 1, 8, 3),
    (5, 16, 16, 6, 2, 8, 2),
    (7, 19, 21, 0, 0, 16, 6),
    (13, 12, 12, 3, 0, 0, 0),
]


@pytest.mark.parametrize(("d", "h", "w", "chunk", "c_ov", "tile", "t_ov"), VIDEO_CASES)
def test_upscale_video_matches_reference(d, h, w, chunk, c_ov, tile, t_ov):
    clip = random_clip(d, h, w, seed=d + h + w, n=2)
    ours = upscale_video(clip, toy_forward, SCALE, chunk, c_ov, tile, t_ov, (6, 8, 8))
    ref = ref_test_video(clip, toy_forward, SCALE, (chunk, tile, tile), (c_ov, t_ov, t_ov), (6, 8, 8))
    assert ours.shape == (2, d, 3, h * SCALE, w * SCALE)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(("d", "h", "w", "chunk", "c_ov", "tile", "t_ov"), VIDEO_CASES)
def test_streaming_blender_equals_upscale_video(d, h, w, chunk, c_ov, tile, t_ov):
    clip = random_clip(d, h, w, seed=d * h, n=2)
    expected = upscale_video(clip, toy_forward, SCALE, chunk, c_ov, tile, t_ov, (6, 8, 8))
    plan = ChunkPlan(d, chunk, c_ov)
    blender = TemporalBlender(plan)
    got: dict[int, np.ndarray] = {}
    order: list[int] = []
    held_inputs: dict[int, np.ndarray] = {}  # a reader's sliding window of input frames
    for k in range(len(plan)):
        for t in frames_needed(plan, k):
            held_inputs.setdefault(t, clip[:, t])
        frames = np.stack([held_inputs[t] for t in plan.frames_needed(k)], axis=1)
        out = upscale_chunk(frames, plan, toy_forward, SCALE, tile, t_ov, (6, 8, 8))
        for index, frame in blender.add(k, out):
            got[index] = frame
            order.append(index)
        for t in [t for t in held_inputs if t < plan.final_before(k)]:
            del held_inputs[t]
        assert len(held_inputs) <= plan.length
        assert blender.pending_frames <= plan.length
    assert blender.done and blender.pending_frames == 0
    assert order == list(range(d))
    assert np.array_equal(np.stack([got[t] for t in range(d)], axis=1), expected)


def test_blender_releases_frames_as_soon_as_final():
    plan = ChunkPlan(11, 6, 2)
    assert list(plan) == [(0, 6), (4, 10), (5, 11)]
    assert [plan.final_before(k) for k in range(3)] == [4, 5, 11]
    blender = TemporalBlender(plan)
    ones = np.ones((1, 6, 1, 2, 2), np.float32)
    assert [i for i, _ in blender.add(0, ones)] == [0, 1, 2, 3]
    assert blender.pending_frames == 2
    released = blender.add(1, 4 * ones)
    assert [i for i, _ in released] == [4]
    assert released[0][1][0, 0, 0, 0] == 2.5  # mean of 1 and 4
    last = blender.add(2, 7 * ones)
    # frame 5 is in all three chunks, 6..9 in the last two, 10 only in the last
    values = [(i, float(f[0, 0, 0, 0])) for i, f in last]
    assert values == [(5, 4.0), (6, 5.5), (7, 5.5), (8, 5.5), (9, 5.5), (10, 7.0)]
    with pytest.raises(ValueError):
        blender.add(3, ones)


def test_blender_rejects_out_of_order_and_wrong_length():
    blender = TemporalBlender(ChunkPlan(11, 6, 2))
    with pytest.raises(ValueError):
        blender.add(1, np.zeros((1, 6, 1, 2, 2), np.float32))
    with pytest.raises(ValueError):
        blender.add(0, np.zeros((1, 5, 1, 2, 2), np.float32))


def test_blend_stream_generator():
    plan = ChunkPlan(10, 6, 2)
    outputs = [np.full((1, 6, 1, 1, 1), v, np.float32) for v in (2.0, 4.0)]
    assert [(i, float(f.item())) for i, f in blend_stream(plan, outputs)] == [
        (0, 2), (1, 2), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4), (8, 4), (9, 4)
    ]
    with pytest.raises(ValueError):
        list(blend_stream(plan, outputs[:1]))


# ---------------------------------------------------------------- sizes from a budget


def test_auto_tile_whole_frame_when_it_fits():
    assert auto_tile(180, 320, 100, bytes_budget=40 * 184 * 320 * 10, bytes_per_pixel_frame=10) == (40, 0)
    assert auto_tile(180, 320, 12, bytes_budget=10**12, bytes_per_pixel_frame=10) == (12, 0)


def _fits(height, width, chunk, tile, budget, bpp, window):
    wh, ww = window[1], window[2]
    th = -(-height // wh) * wh if tile == 0 else min(-(-min(tile, height) // wh) * wh, -(-height // wh) * wh)
    tw = -(-width // ww) * ww if tile == 0 else min(-(-min(tile, width) // ww) * ww, -(-width // ww) * ww)
    return bpp * chunk * th * tw <= budget


@pytest.mark.parametrize(
    "height, width, frames, budget, window",
    [(1080, 1920, 500, 40 * 128 * 128 * 100, (6, 8, 8)), (360, 640, 600, 20 * 80 * 80 * 100, (2, 8, 8)),
     (720, 1280, 30, 12 * 200 * 200 * 100, (6, 8, 8)), (97, 131, 9, 6 * 64 * 64 * 100, (2, 8, 8))],
)
def test_auto_tile_fits_the_budget_with_the_least_work(height, width, frames, budget, window):
    chunk, tile = auto_tile(height, width, frames, budget, 100, window, max_chunk=16)
    assert _fits(height, width, chunk, tile, budget, 100, window)
    assert tile % 8 == 0 and (tile == 0 or tile >= 64)
    best = plan_work(height, width, frames, chunk, tile, window)
    # brute force over every feasible plan: none is cheaper by more than the 2% tie margin
    for c in range(window[0], min(frames, 16) + 1):
        if c <= 2 and c != frames:
            continue
        for t in [0, *range(64, max(height, width) + 8, 8)]:
            if _fits(height, width, c, t, budget, 100, window):
                assert plan_work(height, width, frames, c, t, window) >= best / 1.02, (c, t)


def test_auto_tile_prefers_longer_chunks_over_recomputing_frames():
    """The old rule (longest chunk, then halve it until a 64 tile fits) gave 640x360 tiny chunk 3, tile 80
    at this budget: every frame computed three times."""
    budget = 3 * 80 * 80 * 100
    chunk, tile = auto_tile(360, 640, 600, budget, 100, (2, 8, 8), max_chunk=12)
    assert chunk > 3
    assert plan_work(360, 640, 600, chunk, tile, (2, 8, 8)) * 1.25 < plan_work(360, 640, 600, 3, 80, (2, 8, 8))


def test_plan_work_counts_overlaps():
    assert plan_work(64, 64, 10, 10, 0, 8) == 1.0  # one chunk, whole frame: no waste
    assert plan_work(64, 64, 100, 10, 0, 8, chunk_overlap=2) == pytest.approx(10 / 8)
    # 100 columns in tiles of 64 with overlap 20: starts 0 and 36, so 128 columns computed
    assert plan_work(64, 100, 5, 5, 64, 8, tile_overlap=20) == pytest.approx(128 / 100)


def test_auto_tile_fixed_chunk_chooses_only_the_tile():
    budget = 40 * 64 * 512 * 100
    # rectangular patches count: a 64-row frame lets the tile grow wider than sqrt(budget)
    chunk, tile = auto_tile(64, 4000, 100, budget, 100, 8, fixed_chunk=40)
    assert chunk == 40 and 181 < tile <= 512 and _fits(64, 4000, chunk, tile, budget, 100, (8, 8, 8))
    assert auto_tile(180, 320, 100, 10**12, 100, 8, fixed_chunk=0) == (100, 0)


def test_auto_tile_best_effort_when_nothing_fits():
    chunk, tile = auto_tile(1080, 1920, 500, 1000, 100, (6, 8, 8), min_tile=64)
    assert (chunk, tile) == (6, 64)


def test_smaller_tile_steps_down_to_window():
    assert smaller_tile(128, 8) == 88
    assert smaller_tile(16, 8) == 8
    assert smaller_tile(0, 8, height=1080, width=1920) == 1352
    seen, tile = [], 256
    while True:
        try:
            tile = smaller_tile(tile, 8)
        except ValueError:
            break
        assert tile % 8 == 0
        seen.append(tile)
    assert seen[-1] == 8 and seen == sorted(seen, reverse=True)
    with pytest.raises(ValueError):
        smaller_tile(0, 8)
