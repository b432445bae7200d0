"""An upscale job: probe, read, run, write; with events, cancel, pause and resume.

Data path (each stage pulls from the one before, memory stays flat with length):

    read_frames -> chunks of frames (ChunkPlan) -> Runner.upscale (tiles, model) -> TemporalBlender
                -> FrameWriter segments in a work folder -> mux (audio, subtitles, chapters) -> output

Finished segments are kept in a work folder beside the output (``.NAME.vrt-work``, see workfolder) so a
run that was cancelled, crashed or killed computes only the missing segments and yields the same file as
an uninterrupted run: segment boundaries depend only on the plan, and encoding is deterministic. Several
processes (msrun's ranks, see distributed) can share one job's segments the same way. The
output appears (atomic rename) only when complete. Nothing here knows about Qt: progress goes out as
plain event objects to a callback.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import frame_range, stored_plan, tiling, video, workfolder
from .events import (
    Cancelled,
    CancelToken,
    Event,
    Failed,
    Finished,
    JobCancelled,
    LogLine,
    PreviewPair,
    Progress,
)
from .runner import BICUBIC, Runner, RunnerSettings, bicubic_upscale, to_float, to_integer

SEGMENT_FRAMES = 120  # default: a segment closes at the first chunk boundary past this many output frames
WORK_SUFFIX = ".vrt-work"
CODEC_SUFFIX = {"h264": ".mp4", "h265": ".mp4", "ffv1": ".mkv", "vp9": ".webm", "png": ""}


# ---------------------------------------------------------------------------------------------- settings
@dataclass
class JobSettings:
    """Everything that decides the output, plus how to run it."""

    model: str = "tiny"  # tiny | reds_6f | reds_16f | bicubic | a .ckpt / .pth file
    device: str = "auto"
    tile: int | None = None  # None: automatic; 0: whole frame
    tile_overlap: int = 20
    chunk: int | None = None  # frames per temporal chunk; None: automatic
    chunk_overlap: int = 2
    codec: str = "h264"  # h264 | h265 | ffv1 | vp9 | png
    crf: int = 18
    preset: str = "medium"
    keep_audio: bool = True
    keep_subtitles: bool = True
    overwrite: bool = False
    memory_budget: int | None = None
    graph: bool = True
    workers: int | None = None  # CPU model processes side by side (None: one per core; 1: in this process)
    segment_frames: int = SEGMENT_FRAMES  # resume granularity: work lost to a kill is at most one segment
    # part of the video (frame_range's syntax: 90, 1:30, f2250); None: from the first / to the last frame
    start: str | None = None
    end: str | None = None
    duration: str | None = None
    deinterlace: str = "auto"  # auto | off | frame | field (see video.fields)

    @property
    def range_spec(self) -> frame_range.RangeSpec:
        return frame_range.RangeSpec(self.start, self.end, self.duration)

    def validate(self) -> None:
        if self.codec not in video.WRITER_CODECS:
            raise ValueError(f"codec: '{self.codec}' is not one of {', '.join(video.WRITER_CODECS)}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf: {self.crf} is outside 0..51")
        if self.tile is not None and self.tile < 0:
            raise ValueError(f"tile: must be >= 0, got {self.tile}")
        if self.chunk is not None and self.chunk < 0:
            raise ValueError(f"chunk: must be >= 0, got {self.chunk}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers: must be >= 1, got {self.workers}")
        self.range_spec.check()
        if self.deinterlace not in video.DEINTERLACE_MODES:
            raise ValueError(f"deinterlace: '{self.deinterlace}' is not one of {', '.join(video.DEINTERLACE_MODES)}")


def default_output_path(input_path: str | os.PathLike[str], settings: JobSettings, folder: Path | None = None) -> Path:
    """NAME_x4.mp4 (or .mkv/.webm by codec, a folder for png) beside the input or in ``folder``."""
    src = Path(input_path)
    stem = src.stem if src.is_file() else src.name
    suffix = CODEC_SUFFIX[settings.codec]
    if suffix == ".mp4" and src.suffix.lower() in (".mkv", ".mov", ".webm") and settings.codec != "vp9":
        suffix = ".mkv" if src.suffix.lower() in (".mkv", ".webm") else src.suffix.lower()
    return (folder or src.parent) / f"{stem}_x4{suffix}"


@dataclass
class Job:
    input: Path
    output: Path
    settings: JobSettings = field(default_factory=JobSettings)

    def __post_init__(self) -> None:
        self.input = Path(self.input)
        self.output = Path(self.output)

    @property
    def work_dir(self) -> Path:
        return self.output.parent / f".{self.output.name}{WORK_SUFFIX}"


# ---------------------------------------------------------------------------------------------- helpers
def _fingerprint(
    job: Job, info: video.VideoInfo, runner: Runner, rng: frame_range.FrameRange, fields: str = ""
) -> dict:
    """What decides the segments' bytes, as requested: automatic sizes stay None here (they depend on
    the memory free at the start; the sizes a run used are recorded beside, see workfolder.WorkState)."""
    stat = job.input.stat()
    s = job.settings
    model = s.model
    model_path = Path(model)
    model_id = model
    if model_path.is_file():
        model_id = f"{model_path.resolve()}:{model_path.stat().st_size}:{model_path.stat().st_mtime_ns}"
    return {
        "input": str(job.input.resolve()),
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "frames": info.frame_count,
        "range": [rng.first, rng.stop],
        "model": model_id,
        "codec": s.codec,
        "crf": s.crf,
        "preset": s.preset,
        "chunk": s.chunk,
        "chunk_overlap": s.chunk_overlap,
        "tile": s.tile,
        "tile_overlap": s.tile_overlap,
        "segment_frames": s.segment_frames,
        "device": runner.device_name,
        "precision": runner.precision,
        "graph": s.graph,
        "timing": video.timing.digest(info),  # None (constant rate) matches work folders from before
        **({"fields": fields} if fields else {}),  # progressive input keeps the fingerprint it always had
    }


class _FrameWindow:
    """A sliding window over the decoded input: keeps only the frames the next chunks need."""

    def __init__(self, frames: Iterator[np.ndarray], first: int, path: Path, total: int):
        self._it = frames
        self._next = first
        self._buf: deque[tuple[int, np.ndarray]] = deque()
        self._path = path
        self._total = total

    def get(self, start: int, end: int) -> list[np.ndarray]:
        while self._buf and self._buf[0][0] < start:
            self._buf.popleft()
        while self._next < end:
            try:
                frame = next(self._it)
            except StopIteration:
                raise video.VideoError(self._path, f"truncated: decoded {self._next} of {self._total} frames") from None
            self._buf.append((self._next, frame))
            self._next += 1
        return [f for i, f in self._buf if start <= i < end]


class _Stretch:
    """Decoding and blending from chunk k on, for a run of consecutive segments: the input is read from
    that chunk's first frame (a seek), so a process decodes only what its segments need."""

    def __init__(self, path: Path, info: video.VideoInfo, plan: tiling.ChunkPlan, k: int, warn, pre_filter) -> None:
        first = plan[k][0]
        self.frames = video.read_frames(path, info, start=first, warn=warn, pre_filter=pre_filter)
        self.window = _FrameWindow(self.frames, first, path, info.frame_count)
        self.blender = tiling.TemporalBlender(plan, start_chunk=k)

    def close(self) -> None:
        self.frames.close()


# ---------------------------------------------------------------------------------------------- running
def runner_key(settings: JobSettings) -> tuple[str, str, bool, int | None]:
    """What decides the loaded model: jobs with the same key share one Runner (tiles and chunks may differ)."""
    return settings.model, settings.device, settings.graph, settings.workers


class JobRunner:
    """Runs jobs one after another with one loaded model per (model, device, settings).

    ``make_runner`` builds the Runner (a test passes a subclass that runs out of memory, say)."""

    def __init__(self, make_runner: Callable[[str, str, RunnerSettings], Runner] = Runner) -> None:
        self._make_runner = make_runner
        self._runner: Runner | None = None
        self._runner_key: tuple | None = None

    def runner_for(self, settings: JobSettings) -> Runner:
        key = runner_key(settings)
        if self._runner is None or self._runner_key != key:
            self.close()
            self._runner = self._make_runner(
                settings.model,
                settings.device,
                RunnerSettings(
                    tile=settings.tile,
                    tile_overlap=settings.tile_overlap,
                    chunk=settings.chunk,
                    chunk_overlap=settings.chunk_overlap,
                    memory_budget=settings.memory_budget,
                    graph=settings.graph,
                    workers=settings.workers,
                ),
            )
            self._runner_key = key
        r = self._runner.settings
        r.tile, r.tile_overlap, r.chunk, r.chunk_overlap = (
            settings.tile,
            settings.tile_overlap,
            settings.chunk,
            settings.chunk_overlap,
        )
        r.memory_budget = settings.memory_budget
        return self._runner

    def close(self) -> None:
        """Let go of the loaded model and stop its worker processes."""
        if self._runner is not None:
            self._runner.close()
        self._runner = self._runner_key = None

    def run(
        self,
        job: Job,
        on_event: Callable[[Event], None] | None = None,
        token: CancelToken | None = None,
        between_chunks: Callable[[Runner], None] | None = None,
        share: workfolder.Share | None = None,
    ) -> Event:
        """Run a job to its end; returns (and emits) Finished, Failed or Cancelled. Never raises for bad input.

        ``between_chunks(runner)`` is called with the job's loaded model before every chunk and, while
        paused, every 0.2 s: the place for other work on the same model. It must not raise.
        ``share``: this process is one of several sharing the job (distributed.RankShare); default alone.
        """
        emit = on_event or (lambda _e: None)
        token = token or CancelToken()
        from .weights import WeightsError

        try:
            event: Event = self._run(job, emit, token, between_chunks, share)
        except JobCancelled:
            event = Cancelled(resumable=job.work_dir.exists())
        except (video.VideoError, ValueError, OSError, WeightsError) as exc:
            event = Failed(_reason(exc, job), traceback.format_exc())
        except Exception as exc:  # model/framework failures: still one line, the queue goes on
            event = Failed(f"{job.input}: {type(exc).__name__}: {_one_line(exc, job)}", traceback.format_exc())
        emit(event)
        return event

    def _run(
        self,
        job: Job,
        emit: Callable[[Event], None],
        token: CancelToken,
        between_chunks: Callable[[Runner], None] | None,
        share: workfolder.Share | None = None,
    ) -> Event:
        s = job.settings
        s.validate()
        if job.input.resolve() == job.output.resolve():
            raise ValueError(f"{job.output}: output would overwrite the input")
        if job.output.exists() and not s.overwrite:
            raise ValueError(f"{job.output}: already exists (choose overwrite to replace it)")
        info = video.probe(job.input)
        video.check_timing(info)
        _check_writable(job.output.parent)
        fields = video.plan_fields(info, s.deinterlace)
        if fields.note:
            emit(LogLine(f"{job.input.name}: {fields.note}"))
        info = fields.apply(info)  # from here on, counts and rates are those of the progressive frames
        emit(
            LogLine(
                f"{job.input.name}: {info.width}x{info.height}, {info.frame_count} frames at {float(info.fps):.3f} fps"
            )
        )
        timed = video.is_timed(info)
        if timed:
            emit(LogLine(f"{job.input.name}: {video.timing.describe(info)}"))

        def warn(text: str) -> None:
            emit(LogLine(text, "warning"))

        runner = self.runner_for(s)
        idle = (lambda: between_chunks(runner)) if between_chunks is not None else None
        work = job.work_dir
        times = video.frame_times(info) if timed else None
        rng = s.range_spec.resolve(info.fps, info.frame_count, job.input, times)
        if rng is not None:
            emit(LogLine(f"frames {rng.first}-{rng.stop - 1} ({rng.count} of {info.frame_count})"))
        span = rng or frame_range.FrameRange(0, info.frame_count)  # rng None: mux the source streams whole
        # the whole video's plan, whatever the range: a range's frames then equal those of a whole run
        sized = stored_plan.plan_for(runner, job.input, info.height, info.width, info.frame_count)
        chunk, tile = sized.sizes
        share = share or workfolder.Share()
        state, resumed = share.open(work, _fingerprint(job, info, runner, span, fields.filter), chunk, tile, warn)
        if sized.warning and not resumed:
            warn(sized.warning)
        plan = tiling.ChunkPlan(info.frame_count, state.chunk, s.chunk_overlap if state.chunk else 0)
        part = frame_range.RangeWork.build(plan, span, s.segment_frames)
        groups = part.groups
        emit(
            LogLine(
                f"model {s.model} on {runner.device_name}"
                + (f" ({runner.workers} worker processes, one core each)" if runner.workers > 1 else "")
                + f"; chunk {plan.length} frames, tile {state.tiles[-1][1] or 'whole frame'}"
                + f" ({'as the interrupted run recorded' if resumed else sized.describe()})"
            )
        )
        finished = workfolder.finished_segments(work, len(groups))
        if finished:
            emit(LogLine(f"resuming: {len(finished)} of {len(groups)} segments already done"))

        def upscale(k: int, lq: list[np.ndarray]) -> np.ndarray:
            tile = state.tile_at(k)
            out, used = runner.upscale_tiled(np.stack([to_float(f) for f in lq]), tile, plan)
            for notice in runner.pop_notices():
                warn(notice)
            if used != tile:  # out of memory: keep the smaller tile from here on, and on resume
                state.reduce(k, used)
                state.save(work)
                warn(f"out of memory with {tile or 'whole-frame'} tiles; {used}-pixel tiles from frame {plan[k][0]} on")
            elif len(state.tiles) == 1 and k + 1 < len(plan):  # the first chunk measured the device's real peak
                better = runner.corrected_tile(info.height, info.width, info.frame_count, state.chunk, tile)
                if better != tile:  # kept from the next chunk on, and on resume (a re-planned state has 2 entries)
                    state.reduce(k + 1, better)
                    state.save(work)
                    emit(LogLine(f"measured memory: {better or 'whole-frame'} tiles from frame {plan[k + 1][0]} on"))
            return out.transpose(0, 3, 1, 2)[None]

        start_time = time.monotonic()
        paused_seconds = 0.0  # time waited for a resume: no work was done, so not in elapsed, fps or ETA
        frames_total = part.range.count
        frames_at_start = part.frames_in(finished)
        out_w, out_h = info.width * runner.scale, info.height * runner.scale
        sar = video.output_sar(info, out_w, out_h)

        def between() -> None:
            nonlocal paused_seconds
            paused_seconds += token.wait_while_paused(idle)
            if token.cancelled:
                raise JobCancelled

        def progress(in_segment: int) -> None:
            """The whole job's: every finished segment, whichever process wrote it, and this one so far."""
            written = part.frames_in(workfolder.finished_segments(work, len(groups))) + in_segment
            elapsed = time.monotonic() - start_time - paused_seconds
            rate = (written - frames_at_start) / elapsed if elapsed > 0 else 0.0
            eta = (frames_total - written) / rate if rate > 0 else None
            emit(Progress(written, frames_total, rate, eta, elapsed))

        def nap(seconds: float) -> None:  # waiting for segments that other processes are writing
            between()
            time.sleep(seconds)
            progress(0)

        # Each segment handed out: a jump (not the one after the last) replays the chunks that still reach
        # its frames, reading from theirs on, and drops what they finish; then its chunks, written out.
        handed = share.segments(work, len(groups), lambda text: emit(LogLine(text)), nap)
        stretch: _Stretch | None = None
        previous, computed = -2, 0
        try:
            for g in handed:
                if stretch is None or g != previous + 1:
                    if stretch is not None:
                        stretch.close()
                    stretch = _Stretch(job.input, info, plan, part.replay_from(g), warn, fields.filter)
                    for k in range(part.replay_from(g), groups[g][0]):
                        between()
                        stretch.blender.add(k, upscale(k, stretch.window.get(*plan[k])))
                seg_path = workfolder.segment_path(work, g, s.codec, timed)
                in_first = part.owned(groups[g][0])[0]
                in_end = part.owned(groups[g][1])[1]
                writer = _segment_writer(seg_path, s, info, out_w, out_h, sar, part.frames_before(g), in_first, in_end)
                in_segment = 0
                try:
                    for k in range(groups[g][0], groups[g][1] + 1):
                        between()
                        lq = stretch.window.get(*plan[k])
                        last = None
                        for index, frame in stretch.blender.add(k, upscale(k, lq)):
                            if not part.range.first <= index < part.range.stop:
                                continue  # context for the range, computed as in a whole run
                            last = (index, to_integer(frame[0].transpose(1, 2, 0), info.dtype))
                            writer.write(last[1])
                            in_segment += 1
                        if last is not None:
                            src = lq[last[0] - plan[k][0]]
                            emit(PreviewPair(last[0], _to8(bicubic_upscale(src, runner.scale)), _to8(last[1])))
                        progress(in_segment)
                    writer.close()
                except BaseException:
                    writer.abort()
                    raise
                previous, computed = g, computed + in_segment
        finally:
            handed.close()  # releases a claim still held (a cancelled or failed segment)
            if stretch is not None:
                stretch.close()
        if not share.muxes:  # another process writes the output once every segment exists
            return Finished(job.output, computed, time.monotonic() - start_time - paused_seconds)

        segments = [workfolder.segment_path(work, g, s.codec, timed) for g in range(len(groups))]
        emit(LogLine(f"writing {job.output}"))
        if s.codec == "png":
            timecodes = {video.TIMECODE_FILE: video.timing.timecodes_v2(info, span.first, span.stop)} if timed else {}
            workfolder.join_png_segments(segments, job.output, s.overwrite, timecodes)
        else:
            cut = None if rng is None else (rng.first, rng.stop)
            video.mux(segments, info, job.output, s.keep_audio, s.keep_subtitles, warn=warn, frames=cut)
        shutil.rmtree(work, ignore_errors=True)
        seconds = time.monotonic() - start_time - paused_seconds
        return Finished(job.output, frames_total, seconds)


def _to8(frame: np.ndarray) -> np.ndarray:
    return (frame >> 8).astype(np.uint8) if frame.dtype == np.uint16 else frame


def _one_line(exc: BaseException, job: Job) -> str:
    text = " ".join(str(exc).split())
    return text or f"{job.input}: {type(exc).__name__}"


def _reason(exc: BaseException, job: Job) -> str:
    """One line; a failure inside the work folder (a full disk) is told as one of the output the user asked for."""
    where = getattr(exc, "path", None) or getattr(exc, "filename", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "strerror", None)
    if where is None or problem is None:
        return _one_line(exc, job)
    where = Path(where)
    if where == job.work_dir or job.work_dir in where.parents:
        return f"{job.output}: {problem} (writing {where.relative_to(job.output.parent)})"
    return f"{where}: {problem}"


def _check_writable(folder: Path) -> None:
    if not folder.is_dir():
        raise ValueError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{folder}: output folder is not writable")


def _segment_writer(
    path: Path,
    s: JobSettings,
    info: video.VideoInfo,
    w: int,
    h: int,
    sar,
    first_frame: int,
    in_first: int,
    in_end: int,
) -> video.FrameWriter:
    """Segment of input frames in_first .. in_end-1, numbered from output frame first_frame (PNG names);
    timed input gives them its timestamps."""
    ticks = info.timestamps[in_first:in_end] if video.is_timed(info) and s.codec != "png" else None
    return video.FrameWriter(
        path,
        w,
        h,
        info.fps,
        codec=s.codec,
        crf=s.crf,
        preset=s.preset,
        color=info,
        sar=sar,
        input_bit_depth=info.bit_depth,
        start_number=first_frame,
        timestamps=ticks,
        time_base=info.time_base,
    )


def run_job(job: Job, on_event: Callable[[Event], None] | None = None, token: CancelToken | None = None) -> Event:
    """Run one job with a fresh model (see JobRunner to reuse a loaded model across jobs)."""
    return JobRunner().run(job, on_event, token)


def preview_frame(
    input_path: str | os.PathLike[str], frame_index: int, settings: JobSettings, runner: Runner | None = None
) -> PreviewPair:
    """Upscale just the chunk around one frame (seconds with the tiny model) for a before/after view."""
    info = video.probe(input_path)
    video.check_timing(info)
    fields = video.plan_fields(info, settings.deinterlace)
    info = fields.apply(info)
    if not 0 <= frame_index < info.frame_count:
        raise ValueError(f"frame {frame_index} is outside 0..{info.frame_count - 1} of {input_path}")
    runner = runner or JobRunner().runner_for(settings)
    chunk, tile = runner.plan_sizes(info.height, info.width, info.frame_count)
    length = min(chunk or info.frame_count, info.frame_count)
    start = min(max(0, frame_index - length // 2), info.frame_count - length)
    frames = video.read_frames(input_path, info, start=start, pre_filter=fields.filter)
    try:
        lq = [next(frames) for _ in range(length)]
    finally:
        frames.close()
    plan = tiling.ChunkPlan(length, length, 0)
    out = runner.upscale(np.stack([to_float(f) for f in lq]), tile, plan)
    src = lq[frame_index - start]
    return PreviewPair(
        frame_index, _to8(bicubic_upscale(src, runner.scale)), _to8(to_integer(out[frame_index - start], info.dtype))
    )


def side_by_side(pair: PreviewPair) -> np.ndarray:
    """One RGB image: bicubic on the left, the model on the right, a 4-pixel white divider."""
    h = pair.bicubic.shape[0]
    divider = np.full((h, 4, 3), 255, np.uint8)
    return np.concatenate([pair.bicubic, divider, pair.upscaled], axis=1)


__all__ = [
    "BICUBIC",
    "CancelToken",
    "Cancelled",
    "Event",
    "Failed",
    "Finished",
    "Job",
    "JobRunner",
    "JobSettings",
    "LogLine",
    "PreviewPair",
    "Progress",
    "default_output_path",
    "preview_frame",
    "run_job",
    "runner_key",
    "side_by_side",
]
