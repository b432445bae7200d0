"""Runs an upscaling model over chunks of frames on a device: padding, tiles, precision, OOM retry.

The job hands the runner whole chunks (D, H, W, 3) float32 RGB in [0, 1]; the runner tiles them
spatially the way the reference does (vrt_engine.tiling), feeds the model through a compiled graph
(mindspore.jit, one compilation per tile shape) and returns (D, sH, sW, 3).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from . import tiling
from .workers import WorkerPool, eager_fallback_notice, is_out_of_memory, usable_cores

MIN_MODEL_SIDE = 64  # VRT's stage 4 works at 1/8 scale with 8x8 windows (mutual attention needs them whole)
BICUBIC = "bicubic"


def bicubic_upscale(frame: np.ndarray, scale: int = 4) -> np.ndarray:
    """The baseline every comparison is made against: OpenCV bicubic on one HxWxC frame."""
    h, w = frame.shape[:2]
    return cv2.resize(frame, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)


def _pad_amounts(size: int, multiple: int) -> int:
    target = max(MIN_MODEL_SIDE, -(-size // multiple) * multiple)
    return target - size


def pad_for_model(clip: np.ndarray, multiple: int) -> tuple[np.ndarray, int, int]:
    """Pad H and W (symmetric, as the reference's flip padding) to a window multiple of at least 64."""
    ph = _pad_amounts(clip.shape[-2], multiple)
    pw = _pad_amounts(clip.shape[-1], multiple)
    if ph == 0 and pw == 0:
        return clip, 0, 0
    pads = [(0, 0)] * (clip.ndim - 2) + [(0, ph), (0, pw)]
    # 'symmetric' repeats the edge sample like flip(x[-p:]); tiny frames may need more than one fold
    return np.pad(clip, pads, mode="symmetric"), ph, pw


def available_memory_bytes() -> int:
    """Free host memory (MemAvailable), the default budget on CPU."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


# Re-measured for tiny after the CPU form carried the attention masks as codes and sampled the
# deformable convolution by row gathers (issue 23): bench/tile_memory.py --chunk 12, peak RSS 2201 /
# 2795 / 3724 / 4526 MiB at 64 / 96 / 128 / 144-pixel tiles (2026-12-08), about 11 KB more per extra
# pixel-frame above some 1.7 GB at the smallest. Narrow models get a fixed part of their own: 1.9 GB
# plus 600 x 24 B per pixel-frame covers those peaks by 13 / 19 / 21 / 15 %. Wider models did not
# gain as much from the earlier changes: reds_6f (width 180) was re-measured at 13989 MB for 1x6x64x64
# (568.6 KB per pixel-frame = 3159 B x 180; bench/tile_memory.py --model REDS_6F.ckpt --chunk 6 --tiles
# 64, 2026-12-08, before the attention change), so the wide constants stay until measured again.
GRAPH_BYTES_PER_PIXEL_FRAME_PER_DIM = 600.0
GRAPH_FIXED_BYTES_NARROW = 1_900_000_000
GRAPH_BYTES_PER_PIXEL_FRAME_PER_DIM_WIDE = 3300.0
MEMORY_MEASURED_WIDTH = 24  # the widest model GRAPH_BYTES_PER_PIXEL_FRAME_PER_DIM was measured on
GRAPH_FIXED_BYTES = 1_200_000_000
EAGER_BYTES_PER_PIXEL_FRAME_PER_DIM = 1400.0
EAGER_FIXED_BYTES = 600_000_000
# The narrowest width the constants above were measured at (tiny's 24). Narrower models are planned as
# if they were this wide: their memory does not fall with the width (bench/smallest_vrt.yaml, width 8,
# peaked at about 11 GB per worker at 12x112x112 where width 8 x 3300 B predicts 5 GB).
MEMORY_MIN_WIDTH = 24


@dataclass
class RunnerSettings:
    """How to run: tile/chunk (None = automatic from the memory budget), overlaps, budget, graph mode."""

    tile: int | None = None
    tile_overlap: int = 20
    chunk: int | None = None
    chunk_overlap: int = 2
    memory_budget: int | None = None  # bytes; default: half of what is free
    graph: bool = True
    workers: int | None = None  # CPU: model processes, one core each (None: one per core in graph mode; 1: none)


class Runner:
    """One loaded model on one device, ready to upscale chunks."""

    def __init__(
        self, model: str | os.PathLike[str] = "tiny", device: str = "auto", settings: RunnerSettings | None = None
    ):
        self.settings = settings or RunnerSettings()
        self.model_name = str(model)
        self.device_name = "cpu"
        self.scale = 4
        self.window = (6, 8, 8)
        self.bytes_per_pixel_frame = 1.0
        self.fixed_bytes = 0
        self.max_chunk = 12
        self._model = None
        self._compiled: Callable | None = None
        self._half = False
        self._device_plan = None  # device_memory.DevicePlan on a GPU/Ascend
        self._replan = False  # the first call corrected the device plan: the job may take a new tile
        self._pool: WorkerPool | None = None
        self.workers = 1  # model calls that run side by side
        self.model_seconds = 0.0  # time spent inside the network (or the bicubic baseline), for overhead figures
        self.model_calls = 0
        self.notices: list[str] = []
        self.first_call_seconds = 0.0  # the first call compiles the graph
        self._graph_slot_tried = False  # the graph cache serves a process's first graph only
        self.graph_cache_state = "off"  # hit | miss | off: how this process's first graph was had
        if self.model_name != BICUBIC:
            self._load(model, device)
        elif device not in ("auto", "cpu"):
            from .devices import parse_device

            self.device_name = parse_device(device).name  # bicubic runs on the CPU; still refuse bad names

    # ----- loading -----
    def _load(self, model: str | os.PathLike[str], device: str) -> None:
        import mindspore as ms

        from . import load_model
        from .devices import activate, parse_device
        from .model.precision import set_precision
        from .models_dir import resolve_model

        resolve_model(model)  # a missing model is reported before any device is touched
        dev = parse_device(device)
        try:
            activate(dev)
        except RuntimeError:
            pass  # the device of this process was set already (a second Runner in the same process)
        self.device_name = dev.name
        if device.strip().lower() == "auto" and dev.kind == "cpu":
            from .device_diagnosis import fallback_notice
            from .devices import device_notices

            notices = device_notices()
            if notices:  # an accelerator is here but unusable: never fall back to the CPU silently
                self.notices.append(fallback_notice(notices))
        net = load_model(model)
        cfg = net.cfg
        self.scale = cfg.upscale
        self.window = tuple(cfg.window_size)
        # Peak host memory of one call grows linearly with the pixels and frames it sees, and with the
        # width. Measured with bench/model_speed.py (MindSpore 2.10 CPU, 2026-12-03): tiny (width 24) in
        # graph mode 2.38 GB at 1x6x64x64 and 6.34 GB at 1x6x128x128 (54 KB per pixel-frame above 1.06 GB),
        # reds_6f (width 180) 15.0 GB at 1x6x64x64; eager: tiny 1.1 and 3.3 GB, reds_6f 3.7 GB. The
        # constants cover all of them with a margin (graph mode keeps intermediates alive).
        width = max(*cfg.embed_dims, MEMORY_MIN_WIDTH)
        per_width, self.fixed_bytes = EAGER_BYTES_PER_PIXEL_FRAME_PER_DIM, EAGER_FIXED_BYTES
        if self.settings.graph and width <= MEMORY_MEASURED_WIDTH:
            per_width, self.fixed_bytes = GRAPH_BYTES_PER_PIXEL_FRAME_PER_DIM, GRAPH_FIXED_BYTES_NARROW
        elif self.settings.graph:
            per_width, self.fixed_bytes = GRAPH_BYTES_PER_PIXEL_FRAME_PER_DIM_WIDE, GRAPH_FIXED_BYTES
        self.bytes_per_pixel_frame = per_width * width
        self.max_chunk = max(2 * cfg.window_size[0], 12)
        self._half = dev.half_precision
        if dev.kind != "cpu":  # device memory: budget from the card's free memory, corrected on the first call
            from .device_memory import plan_for_device, query_device_memory

            precision = "float16" if self._half else "float32"
            self._device_plan = plan_for_device(
                max(cfg.embed_dims), "accelerator", precision, lambda: query_device_memory(dev.index)
            )
            self.bytes_per_pixel_frame = self._device_plan.bytes_per_pixel_frame
            self.fixed_bytes = self._device_plan.fixed_bytes
        if self._half:
            set_precision(net, "float16")
        self._model = net
        self._compiled = ms.jit(net.construct) if self.settings.graph else net
        cores = usable_cores()
        if dev.kind == "cpu":  # automatic: in graph mode (eager mode is the slow fallback, kept simple)
            wanted = self.settings.workers or (len(cores) if self.settings.graph else 1)
            self.workers = max(1, min(wanted, len(cores)))
        if self.workers > 1:
            self._pool = WorkerPool(str(model), self.settings.graph, cores[: self.workers])

    def close(self) -> None:
        """Stop the worker processes, if any (a later call starts them again)."""
        if self._pool is not None:
            self._pool.close()

    @property
    def is_bicubic(self) -> bool:
        return self._model is None

    # ----- sizes -----
    def plan_budget(self) -> int:
        """Bytes one model call may use now: the budget (set, or half the free memory) per worker, less
        the fixed part (each worker holds its own graph and activations)."""
        default = available_memory_bytes() // 2
        if self._device_plan is not None:
            default = self._device_plan.budget + self.fixed_bytes
        return (self.settings.memory_budget or default) // self.workers - self.fixed_bytes

    def plan_sizes(self, height: int, width: int, num_frames: int, chunk: int | None = None) -> tuple[int, int]:
        """(chunk, tile) from the settings, or from the memory budget where they are automatic.

        `chunk` fixes the chunk (a job re-planning its tile keeps the chunk it started with)."""
        s = self.settings
        if self.is_bicubic:
            return (s.chunk or 8), 0
        budget = self.plan_budget()
        fixed = None if s.chunk is None else (min(s.chunk, num_frames) if s.chunk else 0)
        if chunk is not None:
            fixed = chunk
        if fixed and fixed <= s.chunk_overlap:
            fixed = min(num_frames, s.chunk_overlap + 1)
        auto_chunk, auto_tile = tiling.auto_tile(
            height,
            width,
            num_frames,
            max(budget, 1),
            self.bytes_per_pixel_frame,
            self.window,
            max_chunk=self.max_chunk,
            chunk_overlap=s.chunk_overlap,
            tile_overlap=s.tile_overlap,
            fixed_chunk=fixed,
            workers=self.workers,
        )
        chunk = fixed if chunk is not None else (s.chunk if s.chunk is not None else auto_chunk)
        tile = s.tile if s.tile is not None else auto_tile
        chunk = min(chunk, num_frames) if chunk else 0
        if chunk and chunk <= s.chunk_overlap:
            chunk = min(num_frames, s.chunk_overlap + 1)
        return chunk, tile

    # ----- running -----
    def _forward(self, clip: np.ndarray) -> np.ndarray:
        """(N, D, 3, h, w) -> (N, D, 3, sh, sw) through the model, padding to a size it accepts."""
        import mindspore as ms

        padded, ph, pw = pad_for_model(clip, int(np.lcm(self.window[1], self.window[2])))
        # float32 in: in half precision the cells cast their own inputs (model.precision)
        x = ms.Tensor(np.ascontiguousarray(padded, dtype=np.float32))
        start = time.perf_counter()
        try:
            y = self._call_compiled(x)
        except Exception as exc:  # graph compilation raises RuntimeError, TypeError, NameError, ...
            if self._compiled is self._model or isinstance(exc, MemoryError) or is_out_of_memory(exc):
                raise
            self._fall_back_to_eager(exc)
            y = self._model(x).asnumpy()
        self._count_call(time.perf_counter() - start)
        if self._device_plan is not None and not self._device_plan.corrected:
            self._device_plan.correct(
                int(np.prod(padded.shape[:2]) * padded.shape[-2] * padded.shape[-1]), self._measured_peak()
            )
            self.bytes_per_pixel_frame = self._device_plan.bytes_per_pixel_frame  # later plan_sizes calls use it
            self._replan = self._device_plan.corrected
        y = y.astype(np.float32, copy=False)
        h, w = clip.shape[-2] * self.scale, clip.shape[-1] * self.scale
        return y[..., :h, :w]

    def _measured_peak(self) -> int:
        """The device's peak memory so far (MindSpore's statistics): the first call's real cost."""
        from .device_memory import device_peak_bytes

        return device_peak_bytes()

    def corrected_tile(self, height: int, width: int, num_frames: int, chunk: int, tile: int) -> int:
        """The tile the corrected device plan gives for this chunk length, once after the first call
        corrected it (an automatic tile only); otherwise `tile`. The job keeps it for the rest."""
        if not self._replan or self.settings.tile is not None:
            return tile
        self._replan = False
        return self.plan_sizes(height, width, num_frames, chunk)[1]

    def _call_compiled(self, x) -> np.ndarray:
        """One model call; this process's first graph goes through the graph cache (vrt_engine.graph_cache)."""
        if self._compiled is self._model or self._graph_slot_tried:
            return self._compiled(x).asnumpy()
        self._graph_slot_tried = True
        from . import graph_cache
        from .models_dir import resolve_model

        threads = len(usable_cores()) if self.device_name == "cpu" else 0
        key = graph_cache.graph_key(resolve_model(self.model_name), self.device_name, self.precision, x.shape, threads)
        slot = graph_cache.GraphSlot(key)
        try:
            y, self._compiled = graph_cache.first_call(slot, self._compiled, self._rebuild, lambda f: f(x).asnumpy())
        finally:
            self.notices += slot.notices
            self.graph_cache_state = slot.state
        return y

    def _rebuild(self) -> Callable:
        """A fresh network and graph (a cached graph failed to load; MindSpore compiles this one anew)."""
        import mindspore as ms

        from . import load_model
        from .model.precision import set_precision

        net = load_model(self.model_name)
        if self._half:
            set_precision(net, "float16")
        self._model = net
        return ms.jit(net.construct)

    def _forward_many(self, pieces: list[np.ndarray]) -> Iterator[np.ndarray]:
        """As :meth:`_forward` for several pieces, run side by side by the worker processes, in order."""
        assert self._pool is not None
        step = int(np.lcm(self.window[1], self.window[2]))
        results = self._pool.map(pad_for_model(piece, step)[0] for piece in pieces)
        try:
            for piece in pieces:
                start = time.perf_counter()
                out, _ = next(results)
                self._count_call(time.perf_counter() - start)  # the wait is the model's time seen from here
                self.notices += self._pool.notices
                self._pool.notices.clear()
                yield out[..., : piece.shape[-2] * self.scale, : piece.shape[-1] * self.scale]
        finally:
            results.close()

    def _fall_back_to_eager(self, exc: BaseException) -> None:
        """Graph mode failed (seen inside a frozen bundle): keep working in eager mode, slower, and say so."""
        self._compiled = self._model
        self.notices.append(eager_fallback_notice(exc))

    def pop_notices(self) -> list[str]:
        """Warnings since the last call (the job turns them into log lines)."""
        notices, self.notices = self.notices, []
        return notices

    @property
    def precision(self) -> str:
        return "float16" if self._half else "float32"

    def tile_overlap_for(self, tile: int) -> int:
        """The requested tile overlap, kept below half a tile so any tile (an OOM retry's too) is valid."""
        return min(self.settings.tile_overlap, tile // 2) if tile else self.settings.tile_overlap

    def upscale(self, frames: np.ndarray, tile: int, plan: tiling.ChunkPlan | None = None) -> np.ndarray:
        """Upscale one chunk (D, H, W, 3) float32 in [0, 1] -> (D, sH, sW, 3); retries smaller tiles on OOM."""
        return self.upscale_tiled(frames, tile, plan)[0]

    def upscale_tiled(
        self, frames: np.ndarray, tile: int, plan: tiling.ChunkPlan | None = None
    ) -> tuple[np.ndarray, int]:
        """As :meth:`upscale`, also returning the tile that fitted, so a job can keep it for later chunks."""
        if self.is_bicubic:
            start = time.perf_counter()
            out = np.stack([bicubic_upscale(f, self.scale) for f in frames])
            self._count_call(time.perf_counter() - start)
            return out, tile
        clip = frames.transpose(0, 3, 1, 2)[None]
        while True:
            overlap = self.tile_overlap_for(tile)
            try:
                many = self._forward_many if self._pool is not None else None
                if plan is not None:
                    out = tiling.upscale_chunk(clip, plan, self._forward, self.scale, tile, overlap, self.window, many)
                else:
                    out = tiling.upscale_clip(clip, self._forward, self.scale, tile, overlap, self.window, many)
                return out[0].transpose(0, 2, 3, 1), tile
            except (RuntimeError, MemoryError) as exc:
                if not is_out_of_memory(exc):
                    raise
                step = int(np.lcm(self.window[1], self.window[2]))
                try:
                    tile = tiling.smaller_tile(tile, step, height=frames.shape[1], width=frames.shape[2])
                except ValueError:
                    raise MemoryError(f"out of memory even with {tile}-pixel tiles ({exc})") from exc

    def _count_call(self, seconds: float) -> None:
        """Model time, with the first call (graph compilation) kept apart for speed figures."""
        if self.model_calls == 0:
            self.first_call_seconds = seconds
        self.model_calls += 1
        self.model_seconds += seconds


def to_float(frame: np.ndarray) -> np.ndarray:
    """uint8 or uint16 RGB -> float32 in [0, 1] (16-bit keeps its precision)."""
    scale = 65535.0 if frame.dtype == np.uint16 else 255.0
    return frame.astype(np.float32) / scale


def to_integer(frame: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    """float32 in [0, 1] -> uint8 / uint16 with rounding, as the reference saves its outputs."""
    top = 65535.0 if dtype == np.uint16 else 255.0
    return (np.clip(frame, 0.0, 1.0) * top).round().astype(dtype)
