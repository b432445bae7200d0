"""Test-time tiling: temporal chunks and spatial tiles with overlap blending (plain numpy).

VRT is too large to run on a whole video at once, so the reference (``main_test_vrt.py``,
``test_video`` and ``test_clip``) cuts the video into overlapping temporal chunks and each chunk
into overlapping spatial tiles, runs the model on each piece and blends the pieces back. The
published scores were measured with exactly that arithmetic, so this module reproduces it
bit for bit (same index lists, same padding, same blend weights, same float32 accumulation
order); only the quirks listed below differ, and only where the reference would produce NaN.

Arrays are ``(N, D, C, H, W)`` float32: batch, frames, channels, rows, columns.

Reference behaviour reproduced on purpose (surprising but it is what the scores were made with):

* Index lists are ``range(0, size - tile, tile - overlap)`` plus a final ``max(0, size - tile)``,
  so the last two pieces may overlap by much more than ``overlap``.
* The no-tile path pads by appending the *flipped last p* rows/columns/frames (``flip(x[-p:])``),
  i.e. symmetric padding that repeats the edge sample (not numpy's ``'reflect'``). When
  ``p`` exceeds the size, only ``size`` samples are appended, as torch slicing does.
* A piece no larger than the tile is passed to the model unpadded (the model pads internally).
* Spatial blending zeroes ``overlap // 2`` *output* pixels (not ``overlap // 2 * scale``) on the
  leading side of interior tile edges and ``ceil(overlap / 2)`` on the trailing side (the
  reference writes ``-overlap_size//2``, which Python parses as ``(-overlap_size)//2``), then
  divides by the number of tiles that kept each pixel.
* Temporal blending is a plain average over the chunks that contain a frame.

Deliberate differences: with ``overlap == 0`` the reference's ``x[..., -0:]`` zeroes the whole
tile and the result is 0/0 = NaN; here a zero overlap means "no border to drop". Masked borders are
skipped rather than multiplied by zero, which is identical for finite outputs but does not turn a
non-finite border value into NaN inside the neighbouring tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]
"""A model as a function: ``(N, D, C, h, w) -> (N, D, C', h * scale, w * scale)``."""

ForwardMany = Callable[[Sequence[np.ndarray]], Iterable[np.ndarray]]
"""A model over several pieces at once (outputs in the same order), e.g. run by worker processes."""

WindowSize = int | Sequence[int]
"""Attention window: an int for all three axes, or ``(frames, rows, columns)`` as VRT's ``[6, 8, 8]``."""


def window3(window_size: WindowSize) -> tuple[int, int, int]:
    """Normalise a window size to ``(frames, rows, columns)`` so every caller can pass either form."""
    if isinstance(window_size, int | np.integer):
        sizes = (int(window_size),) * 3
    else:
        sizes = tuple(int(v) for v in window_size)
        if len(sizes) != 3:
            raise ValueError(f"window_size must be an int or (frames, rows, cols), got {window_size!r}")
    if min(sizes) < 1:
        raise ValueError(f"window_size must be positive, got {window_size!r}")
    return sizes  # type: ignore[return-value]


def _piece_starts(size: int, piece: int, overlap: int, what: str) -> list[int]:
    if size < 1:
        raise ValueError(f"{what}: size must be >= 1, got {size}")
    if piece == 0:
        return [0]
    if piece < 0:
        raise ValueError(f"{what}: size of a piece must be >= 0, got {piece}")
    if not 0 <= overlap < piece:
        raise ValueError(f"{what}: overlap must be in [0, {piece}), got {overlap}")
    stride = piece - overlap
    return list(range(0, size - piece, stride)) + [max(0, size - piece)]


def chunk_starts(num_frames: int, chunk: int, overlap: int) -> list[int]:
    """First frame of each temporal chunk, as the reference's ``d_idx_list`` (``chunk == 0``: one chunk).

    Strictly increasing, so chunk ``k`` can only share frames with its neighbours in order.
    """
    return _piece_starts(num_frames, chunk, overlap, "chunk")


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """First row (or column) of each spatial tile, as the reference's ``h_idx_list`` (``tile == 0``: one)."""
    return _piece_starts(size, tile, overlap, "tile")


def flip_pad(x: np.ndarray, axis: int, multiple: int) -> np.ndarray:
    """Pad ``axis`` up to a multiple by appending its last ``p`` entries flipped (the reference's rule).

    ``p`` larger than the axis appends the whole axis flipped, once (what ``x[-p:]`` gives), so the
    result may still fall short of the multiple; the model copes with that as in the reference.
    """
    n = x.shape[axis]
    p = (multiple - n % multiple) % multiple
    if p == 0:
        return x
    index = [slice(None)] * x.ndim
    index[axis] = slice(-p, None)
    tail = np.flip(x[tuple(index)], axis=axis)
    return np.concatenate([x, tail], axis=axis)


def pad_to_multiple(clip: np.ndarray, window_size: WindowSize, *, temporal: bool = False) -> np.ndarray:
    """Pad a ``(N, D, C, H, W)`` clip so H and W (and D when ``temporal``) are window multiples.

    Order is D, then H, then W, as the reference; crop the model output back to the old size times
    the scale. ``temporal`` is the whole-video path of ``test_video``; chunks are not padded in time.
    """
    _check_clip(clip)
    wd, wh, ww = window3(window_size)
    if temporal:
        clip = flip_pad(clip, 1, wd)
    clip = flip_pad(clip, 3, wh)
    return flip_pad(clip, 4, ww)


def _check_clip(clip: np.ndarray) -> None:
    if clip.ndim != 5:
        raise ValueError(f"expected an (N, D, C, H, W) array, got shape {clip.shape}")


def _checked(outputs: Iterable[np.ndarray], pieces: Sequence[np.ndarray], scale: int) -> Iterator[np.ndarray]:
    """The model's outputs, each checked against the shape its piece calls for."""
    for x, out in zip(pieces, outputs):
        out = np.asarray(out)
        n, d, _, h, w = x.shape
        if out.ndim != 5 or out.shape[:2] != (n, d) or out.shape[3:] != (h * scale, w * scale):
            raise ValueError(
                f"forward returned shape {out.shape} for input {x.shape}; expected "
                f"({n}, {d}, C, {h * scale}, {w * scale})"
            )
        yield out


def upscale_clip(
    clip: np.ndarray,
    forward: Forward,
    scale: int,
    tile: int = 0,
    overlap: int = 0,
    window_size: WindowSize = 8,
    forward_many: ForwardMany | None = None,
) -> np.ndarray:
    """Run ``forward`` over a clip in spatial tiles and blend them, as the reference ``test_clip``.

    ``tile == 0`` runs the whole clip once after flip-padding H and W to the window and crops the
    result. Otherwise square tiles of ``tile`` input pixels step by ``tile - overlap``; each interior
    tile edge drops ``overlap // 2`` (leading) / ``ceil(overlap / 2)`` (trailing) output pixels and
    every pixel is the mean of the tiles that kept it. Returns float32 ``(N, D, C', H*s, W*s)``.
    ``forward_many`` (optional) runs all the pieces, e.g. side by side in worker processes; its outputs
    are blended in the same order, so the result is the same as with ``forward``.
    """
    run_all = forward_many or (lambda pieces: map(forward, pieces))
    _check_clip(clip)
    _, wh, ww = window3(window_size)
    if tile % wh or tile % ww:
        raise ValueError(f"tile {tile} must be a multiple of the window ({wh}, {ww})")
    n, d, _, h, w = clip.shape

    if tile == 0:
        padded = pad_to_multiple(clip, (1, wh, ww))
        (out,) = _checked(run_all([padded]), [padded], scale)
        return np.ascontiguousarray(out[..., : h * scale, : w * scale], dtype=np.float32)

    rows = tile_starts(h, tile, overlap)
    cols = tile_starts(w, tile, overlap)
    lead = overlap // 2
    trail = -((-overlap) // 2)
    acc: np.ndarray | None = None
    weight = np.zeros((h * scale, w * scale), dtype=np.float32)
    grid = [(i, j, y0, x0) for i, y0 in enumerate(rows) for j, x0 in enumerate(cols)]
    pieces = [clip[..., y0 : y0 + tile, x0 : x0 + tile] for _, _, y0, x0 in grid]
    for (i, j, y0, x0), out in zip(grid, _checked(run_all(pieces), pieces, scale), strict=True):
        if acc is None:
            acc = np.zeros((n, d, out.shape[2], h * scale, w * scale), dtype=np.float32)
        ph, pw = out.shape[-2:]
        top = lead if i > 0 else 0
        bottom = ph - trail if i < len(rows) - 1 else ph
        left = lead if j > 0 else 0
        right = pw - trail if j < len(cols) - 1 else pw
        oy, ox = y0 * scale, x0 * scale
        acc[..., oy + top : oy + bottom, ox + left : ox + right] += out[..., top:bottom, left:right]
        weight[oy + top : oy + bottom, ox + left : ox + right] += 1
    assert acc is not None
    np.divide(acc, weight, out=acc)
    return acc


@dataclass(frozen=True)
class ChunkPlan:
    """The temporal chunks of a video, in processing order, as ``(start, end)`` frame ranges.

    ``chunk == 0`` is the reference's whole-video mode: one chunk, padded in time to the window by
    :func:`upscale_chunk`. Otherwise chunks of ``chunk`` frames step by ``chunk - overlap`` (one
    chunk of all frames when the video is shorter, unpadded, as the reference).
    """

    num_frames: int
    chunk: int = 0
    overlap: int = 0
    starts: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(chunk_starts(self.num_frames, self.chunk, self.overlap)))

    @property
    def whole_video(self) -> bool:
        """True in the whole-video mode (``chunk == 0``), where a chunk is padded in time."""
        return self.chunk == 0

    @property
    def length(self) -> int:
        """Frames in every chunk (all chunks have the same length)."""
        return self.num_frames if self.chunk == 0 else min(self.chunk, self.num_frames)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> tuple[int, int]:
        start = self.starts[index]
        return start, start + self.length

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return (self[i] for i in range(len(self)))

    def frames_needed(self, index: int) -> range:
        """Input frames chunk ``index`` reads; a reader keeps just these (plus the next chunk's)."""
        start, end = self[index]
        return range(start, end)

    def final_before(self, index: int) -> int:
        """Once chunk ``index`` is done, frames below this are final and inputs below it unneeded."""
        return self.starts[index + 1] if index + 1 < len(self) else self.num_frames


def frames_needed(plan: ChunkPlan, chunk_index: int) -> range:
    """Input frames that chunk ``chunk_index`` of ``plan`` reads (:meth:`ChunkPlan.frames_needed`)."""
    return plan.frames_needed(chunk_index)


def upscale_chunk(
    frames: np.ndarray,
    plan: ChunkPlan,
    forward: Forward,
    scale: int,
    tile: int = 0,
    tile_overlap: int = 0,
    window_size: WindowSize = 8,
    forward_many: ForwardMany | None = None,
) -> np.ndarray:
    """Upscale the input frames of one chunk of ``plan`` (shape ``(N, length, C, H, W)``).

    Keeps the whole-video rule in one place: with ``plan.whole_video`` the frames are flip-padded
    in time to the temporal window and the output cropped back, as the reference ``test_video``.
    """
    _check_clip(frames)
    if frames.shape[1] != plan.length:
        raise ValueError(f"chunk has {frames.shape[1]} frames, plan expects {plan.length}")
    if plan.whole_video:
        wd, _, _ = window3(window_size)
        out = upscale_clip(flip_pad(frames, 1, wd), forward, scale, tile, tile_overlap, window_size, forward_many)
        return out[:, : plan.length]
    return upscale_clip(frames, forward, scale, tile, tile_overlap, window_size, forward_many)


def upscale_video(
    clip: np.ndarray,
    forward: Forward,
    scale: int,
    chunk: int = 0,
    chunk_overlap: int = 0,
    tile: int = 0,
    tile_overlap: int = 0,
    window_size: WindowSize = 8,
) -> np.ndarray:
    """Upscale a whole in-memory video as the reference ``test_video``: chunks, then tiles.

    Overlapping frames are averaged over the chunks that contain them (no border dropped in time).
    Holds the whole output; use :class:`TemporalBlender` to stream long videos.
    """
    _check_clip(clip)
    plan = ChunkPlan(clip.shape[1], chunk, chunk_overlap)
    acc: np.ndarray | None = None
    weight = np.zeros((clip.shape[1],), dtype=np.float32)
    for start, end in plan:
        out = upscale_chunk(clip[:, start:end], plan, forward, scale, tile, tile_overlap, window_size)
        if acc is None:
            acc = np.zeros((out.shape[0], clip.shape[1], *out.shape[2:]), dtype=np.float32)
        acc[:, start:end] += out
        weight[start:end] += 1
    assert acc is not None
    np.divide(acc, weight[None, :, None, None, None], out=acc)
    return acc


class TemporalBlender:
    """Streaming form of the temporal blend of :func:`upscale_video`, for videos that do not fit.

    Feed each chunk's output in plan order with :meth:`add`; it returns the frames no later chunk
    can touch, as ``(frame_index, (N, C, H, W) float32)``, in order. It holds only the frames
    still shared with the next chunk, so memory stays at about two chunks whatever the length.
    The arithmetic (float32 sum from zero in chunk order, then division by the count) is the same
    as :func:`upscale_video`, so results are identical.
    """

    def __init__(self, plan: ChunkPlan, start_chunk: int = 0) -> None:
        """``start_chunk > 0`` resumes mid-video: frames before that chunk's start are not returned
        (and frames that earlier chunks would have completed come out wrong, so a resuming caller
        starts at the first chunk that still reaches its unfinished frames)."""
        self.plan = plan
        self._next_chunk = start_chunk
        self._next_frame = plan.starts[start_chunk] if start_chunk else 0
        self._sums: dict[int, np.ndarray] = {}
        self._counts: dict[int, int] = {}

    @property
    def done(self) -> bool:
        """True once every chunk was added and every frame returned."""
        return self._next_chunk == len(self.plan)

    @property
    def pending_frames(self) -> int:
        """Frames accumulated but not yet final (useful to check memory stays bounded)."""
        return len(self._sums)

    def add(self, chunk_index: int, frames: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Accumulate chunk ``chunk_index``'s output ``(N, length, C, H, W)``; return finished frames."""
        if self.done:
            raise ValueError(f"all {len(self.plan)} chunks were already added")
        if chunk_index != self._next_chunk:
            raise ValueError(f"expected chunk {self._next_chunk}, got {chunk_index}")
        start, end = self.plan[chunk_index]
        if frames.ndim != 5 or frames.shape[1] != end - start:
            raise ValueError(f"chunk {chunk_index} needs {end - start} frames, got shape {frames.shape}")
        for t in range(start, end):
            if t not in self._sums:
                self._sums[t] = np.zeros(frames.shape[:1] + frames.shape[2:], dtype=np.float32)
                self._counts[t] = 0
            self._sums[t] += frames[:, t - start]
            self._counts[t] += 1
        self._next_chunk += 1
        final = self.plan.final_before(chunk_index)
        ready = []
        for t in range(self._next_frame, final):
            acc = self._sums.pop(t)
            np.divide(acc, np.float32(self._counts.pop(t)), out=acc)
            ready.append((t, acc))
        self._next_frame = final
        return ready


def blend_stream(plan: ChunkPlan, chunk_outputs: Iterable[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
    """Generator form of :class:`TemporalBlender` for a pipeline: chunk outputs in, final frames out."""
    blender = TemporalBlender(plan)
    added = 0
    for index, frames in enumerate(chunk_outputs):
        yield from blender.add(index, frames)
        added += 1
    if not blender.done:
        raise ValueError(f"plan has {len(plan)} chunks, stream ended after {added}")


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def call_memory(
    height: int, width: int, frames: int, tile: int, bytes_per_pixel_frame: float, window_size: WindowSize = (6, 8, 8)
) -> float:
    """Peak memory of one model call on ``frames`` frames in ``tile`` tiles (0: the whole frame), by the
    planner's memory model (see :func:`auto_tile`): bytes per pixel-frame x frames x the patch."""
    _, wh, ww = window3(window_size)
    th = _patch(height, _round_up(height, wh), wh, tile)
    tw = _patch(width, _round_up(width, ww), ww, tile)
    return bytes_per_pixel_frame * frames * th * tw


def auto_tile(
    height: int,
    width: int,
    num_frames: int,
    bytes_budget: int,
    bytes_per_pixel_frame: float,
    window_size: WindowSize = (6, 8, 8),
    *,
    max_chunk: int = 40,
    min_tile: int = 64,
    chunk_overlap: int = 2,
    tile_overlap: int = 20,
    fixed_chunk: int | None = None,
    workers: int = 1,
) -> tuple[int, int]:
    """Pick ``(chunk, tile)`` that fits ``bytes_budget`` and wastes the least compute on overlaps.

    Memory model: the peak device memory of one call is linear in the input pixels the model sees,
    ``bytes_per_pixel_frame * chunk * th * tw``, where ``th, tw`` are the patch sizes rounded up to
    the window (VRT's attention is windowed, so activations grow linearly with pixels and frames).
    ``bytes_per_pixel_frame`` is measured per model and precision (weights, workspace and host-side
    blend buffers are not in it; leave headroom in the budget).

    Why not simply the longest chunk: overlapping chunks and tiles are computed twice. A chunk of 3
    frames with an overlap of 2 runs every frame three times, so a longer chunk with smaller tiles is
    often much cheaper. Every chunk length from one temporal window up to ``max_chunk`` is tried with
    every tile that fits (``0``, the whole frame, when it fits); the plan with the least work
    (model pixel-frames per video pixel-frame, :func:`plan_work`) wins, and among plans within 2% of
    it the longest chunk (more temporal context), then the largest tile. When no plan has a tile of
    at least ``min_tile``, the shortest chunk with ``min_tile`` is returned (best effort; the
    out-of-memory retry of the runner with :func:`smaller_tile` takes over). ``fixed_chunk`` (the
    user's chunk length; 0 is the whole clip) leaves only the tile to choose. With ``workers`` running
    a chunk's tiles side by side (``bytes_budget`` is then one worker's), a plan is charged for the
    workers its last round of tiles leaves idle: 3 tiles on 2 workers take as long as 4.
    """
    if min(height, width, num_frames) < 1 or bytes_budget <= 0 or bytes_per_pixel_frame <= 0:
        raise ValueError("sizes, budget and bytes_per_pixel_frame must be positive")
    wd, wh, ww = window3(window_size)
    step = math.lcm(wh, ww)
    hp, wp = _round_up(height, wh), _round_up(width, ww)
    min_tile = max(step, _round_up(min_tile, step))
    longest = min(num_frames, max(max_chunk, wd))
    chunks = [c for c in range(min(num_frames, wd), longest + 1) if c > chunk_overlap or c == num_frames]
    if fixed_chunk is not None:
        chunks = [min(fixed_chunk, num_frames) if fixed_chunk else num_frames]
    elif not chunks:
        chunks = [min(num_frames, chunk_overlap + 1)]

    def memory(frames: int, tile: int) -> float:
        return call_memory(height, width, frames, tile, bytes_per_pixel_frame, window_size)

    plans = []
    for chunk in chunks:
        if memory(chunk, 0) <= bytes_budget:
            tiles = [0]
        else:  # every fitting tile: a smaller one can waste less where the tile grid meets the frame edge
            largest = _round_up(max(hp, wp), step)
            tiles = [t for t in range(min_tile, largest + 1, step) if memory(chunk, t) <= bytes_budget]
        for tile in tiles:
            work = plan_work(height, width, num_frames, chunk, tile, (wd, wh, ww), chunk_overlap, tile_overlap)
            pieces = tiles_per_chunk(height, width, tile, tile_overlap)
            plans.append((work * -(-pieces // workers) * workers / pieces, chunk, tile))
    if not plans:
        return chunks[0], (0 if min_tile >= max(hp, wp) else min_tile)
    least = min(work for work, _, _ in plans)
    near = [(chunk, tile) for work, chunk, tile in plans if work <= least * 1.02]
    return max(near, key=lambda plan: (plan[0], plan[1] == 0, plan[1]))


def plan_work(
    height: int,
    width: int,
    num_frames: int,
    chunk: int,
    tile: int,
    window_size: WindowSize = (6, 8, 8),
    chunk_overlap: int = 2,
    tile_overlap: int = 20,
) -> float:
    """Pixel-frames the model computes per pixel-frame of video for a plan (1.0: no waste).

    Spatially exact (the tile grid of :func:`tile_starts`, patches rounded up to the window); in time
    the long-video rate ``chunk / (chunk - overlap)``, or 1 when one chunk holds the whole clip.
    """
    _, wh, ww = window3(window_size)
    hp, wp = _round_up(height, wh), _round_up(width, ww)
    temporal = 1.0 if chunk == 0 or chunk >= num_frames else chunk / (chunk - chunk_overlap)
    if tile == 0:
        return temporal * hp * wp / (height * width)
    th, tw = _patch(height, hp, wh, tile), _patch(width, wp, ww, tile)
    return temporal * (tiles_per_chunk(height, width, tile, tile_overlap) * th * tw) / (height * width)


def tiles_per_chunk(height: int, width: int, tile: int, tile_overlap: int = 20) -> int:
    """Model calls one chunk takes: the tiles of :func:`upscale_clip` (1 for the whole frame)."""
    if tile == 0:
        return 1
    overlap = min(tile_overlap, tile // 2)
    return len(tile_starts(height, tile, overlap)) * len(tile_starts(width, tile, overlap))


def _patch(size: int, padded: int, window: int, tile: int) -> int:
    """Rows (or columns) one model call sees: the tile, or the padded frame when it is smaller."""
    return padded if tile == 0 else min(_round_up(min(tile, size), window), padded)


def smaller_tile(tile: int, window: int, *, height: int = 0, width: int = 0) -> int:
    """Next tile to try after running out of memory: about half the area, a window multiple.

    ``tile == 0`` (whole frame) needs ``height`` and ``width`` to know where to start. Raises
    ``ValueError`` when the tile is already one window, so a retry loop ends with a clear error.
    The caller keeps the tile overlap below the new tile.
    """
    if window < 1:
        raise ValueError(f"window must be positive, got {window}")
    if tile == 0:
        if height < 1 or width < 1:
            raise ValueError("smaller_tile(0, ...) needs the frame height and width")
        tile = _round_up(max(height, width), window)
    new = min(int(tile / math.sqrt(2)) // window * window, tile - window)
    if new < window:
        raise ValueError(f"tile {tile} cannot be made smaller than the window {window}")
    return new
