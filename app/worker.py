"""All engine work, off the UI thread.

Three QThreads, each with one QObject living in it:

* ``EngineWorker`` runs what needs the model: jobs (``JobRunner``, which keeps the loaded model
  across jobs), single-frame previews and the device/model discovery (it imports MindSpore, which
  takes seconds). A preview asked for while a job runs on the same model is served between the
  job's chunks, so it waits seconds, not until the job ends; one for another model waits.
* ``ImportWorker`` converts .pth files into the model folder (a minute for REDS weights), beside a
  running job.
* ``IoWorker`` does the quick file work that must not wait behind an hour-long job: probing dropped
  files, decoding one input frame for the slider, deleting a removed job's work folder.

:class:`Engine` is the only thing the rest of the app talks to: its methods post requests to the
workers through queued signals, and its signals carry results back to the UI thread.
:class:`EventAdapter` is the one small place where engine events become Qt signals.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from vrt_engine import job as engine_job
from vrt_engine import video
from vrt_engine.job import (
    Cancelled,
    CancelToken,
    Failed,
    Finished,
    Job,
    JobRunner,
    JobSettings,
    LogLine,
    PreviewPair,
    Progress,
)
from vrt_engine.runner import Runner

from .estimates import EstimateRequest, EstimateResult, Pending, estimate_key, job_estimate, plan_key

# Files a dropped folder is searched for (single files are always probed, whatever their name).
VIDEO_SUFFIXES = frozenset(
    ".mp4 .m4v .mkv .mov .webm .avi .mpg .mpeg .ts .m2ts .mts .wmv .flv .y4m .ogv .3gp .mxf .nut".split()
)
PREVIEW_INTERVAL_S = 0.2  # at most this often a running job's preview pair crosses to the UI


def to_qimage(rgb: np.ndarray) -> QImage:
    """An HxWx3 uint8 RGB array as a QImage that owns its pixels (safe to hand to another thread)."""
    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def one_line(exc: BaseException) -> str:
    """An exception as the one-line reason the user sees."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Latest:
    """A one-slot mailbox: the newest request replaces an unserved one (slider scrubbing, previews)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: Any = None

    def put(self, value: Any) -> None:
        with self._lock:
            self._value = value

    def take(self) -> Any:
        with self._lock:
            value, self._value = self._value, None
            return value

    def take_if(self, wanted: Callable[[Any], bool]) -> Any:
        """The waiting value if ``wanted`` says so (it stays for later otherwise), else None."""
        with self._lock:
            if self._value is None or not wanted(self._value):
                return None
            value, self._value = self._value, None
            return value


def preview_key(settings: JobSettings) -> tuple:
    """What decides a preview's pixels: the same key gives the same picture (the app caches by it)."""
    return settings.model, settings.device, settings.graph, settings.tile, settings.chunk


class JobToken(CancelToken):
    """The engine's cancel/pause token, numbering pause requests.

    Why: the job honours a pause only after the chunk in progress (minutes on a CPU); the number lets
    the worker say once per request that the job has really stopped, even after a resume and a new pause.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pause_requests = 0

    def pause(self) -> None:
        self.pause_requests += 1  # before the job can see the pause, so it never sees an old number
        super().pause()


@dataclass(frozen=True)
class PreviewRequest:
    item_id: int
    path: Path
    frame_index: int
    settings: JobSettings


@dataclass(frozen=True)
class FrameRequest:
    item_id: int
    path: Path
    info: video.VideoInfo
    frame_index: int


@dataclass(frozen=True)
class Capabilities:
    """What the engine can use here: device names, named models with weights, imported model files."""

    devices: tuple[str, ...]
    models: tuple[str, ...]
    model_files: tuple[str, ...]


# ---------------------------------------------------------------------------------------------- adapter
class EventAdapter:
    """Turns one job's engine events into the worker's signals; called on the worker thread."""

    def __init__(self, worker: EngineWorker, item_id: int, preview_interval: float = PREVIEW_INTERVAL_S) -> None:
        self._worker = worker
        self._id = item_id
        self._interval = preview_interval
        self._last_preview = 0.0
        self._held: PreviewPair | None = None

    def __call__(self, event: object) -> None:
        w = self._worker
        if isinstance(event, Progress):
            w.jobProgress.emit(self._id, event)
        elif isinstance(event, PreviewPair):
            now = time.monotonic()
            if now - self._last_preview >= self._interval:
                self._send(event)
                self._last_preview = now
            else:
                self._held = event  # shown at the end if nothing newer got through
        elif isinstance(event, LogLine):
            w.log.emit(event.text, event.level)
        elif isinstance(event, Finished | Failed | Cancelled):
            if self._held is not None:
                self._send(self._held)
            w.jobEnded.emit(self._id, event)

    def _send(self, pair: PreviewPair) -> None:
        self._held = None
        self._worker.jobPreview.emit(self._id, pair.frame_index, to_qimage(pair.bicubic), to_qimage(pair.upscaled))


# ---------------------------------------------------------------------------------------------- workers
def discover_capabilities(warn: Callable[[str], None]) -> Capabilities:
    """The devices MindSpore can use here and the models with weights; problems are warned, not raised."""
    from vrt_engine.devices import available_devices, device_notices
    from vrt_engine.models_dir import AUTHORS_FILES, BUILTIN_MODEL, available_models, user_models_dir

    try:
        devices = tuple(d.name for d in available_devices())
        for notice in device_notices():  # a GPU/Ascend here that MindSpore cannot use: say what to install
            warn(notice)
    except Exception as exc:  # a broken MindSpore install: the CPU still works for bicubic
        warn(f"device discovery failed: {one_line(exc)}")
        devices = ("cpu",)
    try:
        models = tuple(available_models())
        named = {BUILTIN_MODEL, *AUTHORS_FILES}
        folder = user_models_dir()
        files = (
            tuple(str(p) for p in sorted(folder.glob("*.ckpt")) if p.stem not in named and not p.name.startswith("."))
            if folder.is_dir()
            else ()
        )
    except OSError as exc:
        warn(f"model folder unreadable: {one_line(exc)}")
        models, files = (), ()
    return Capabilities(devices, models, files)


class CountingRunner(Runner):
    """The engine's runner, counting the frames it upscales: the log says how much of a clip a preview ran."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames_upscaled = 0

    def upscale_tiled(self, frames: np.ndarray, tile: int, plan: Any = None) -> tuple[np.ndarray, int]:
        self.frames_upscaled += len(frames)
        return super().upscale_tiled(frames, tile, plan)


class EngineWorker(QObject):
    """Lives in the engine thread: jobs, previews, device discovery."""

    capabilities = Signal(object)  # Capabilities
    jobStarted = Signal(int, str)  # item id, "preparing model…" or "starting…"
    jobProgress = Signal(int, object)  # item id, Progress
    jobPreview = Signal(int, int, QImage, QImage)  # item id, frame, bicubic x4, model output
    jobPaused = Signal(int)  # item id: a pause took effect, the job waits between chunks
    jobEnded = Signal(int, object)  # item id, Finished | Failed | Cancelled
    previewStarted = Signal(int, str)  # item id, what it is doing
    previewReady = Signal(int, int, QImage, QImage, object)  # item id, frame, bicubic, model, preview_key
    previewFailed = Signal(int, str)
    estimateReady = Signal(object)  # EstimateResult
    log = Signal(str, str)  # text, level

    def __init__(self, previews: Latest, estimates: Pending | None = None) -> None:
        super().__init__()
        self._runner = JobRunner(CountingRunner)
        self._previews = previews
        self._estimates = estimates or Pending()
        self._active_plan_key: tuple | None = None  # estimates.plan_key of the running job
        self._ready: set[tuple[str, str]] = set()  # (model, device) already loaded and compiled once
        # preview_key of the job running now (None when idle); read from the UI thread, hence one plain value
        self.active_key: tuple | None = None

    def _stage(self, settings: JobSettings) -> str:
        if settings.model == engine_job.BICUBIC or (settings.model, settings.device) in self._ready:
            return "starting…"
        return "preparing model…"

    @Slot()
    def load_capabilities(self) -> None:
        """Devices and models (imports MindSpore: seconds, hence here)."""
        self.capabilities.emit(discover_capabilities(lambda text: self.log.emit(text, "warning")))

    @Slot(int, object, object)
    def run_job(self, item_id: int, job: Job, token: JobToken) -> None:
        """Run one job to its end; the terminal event always comes back as jobEnded."""
        self.jobStarted.emit(item_id, self._stage(job.settings))
        adapter = EventAdapter(self, item_id)
        if token.cancelled:  # cancelled while it waited in the queue of requests
            adapter(Cancelled(resumable=job.work_dir.exists()))
            return
        self.active_key = preview_key(job.settings)
        self._active_plan_key = plan_key(job.settings)
        reported = 0  # the last pause request said to have taken effect

        def between_chunks(runner: Runner) -> None:
            """Called before each chunk and, while paused, every 0.2 s: the first call of a pause is its effect."""
            nonlocal reported
            requests = token.pause_requests
            if token.paused and requests != reported:
                reported = requests
                self.jobPaused.emit(item_id)
            self._serve_waiting_preview(runner)
            self._serve_waiting_estimates(runner)

        try:
            event = self._runner.run(job, adapter, token, between_chunks=between_chunks)
        except Exception as exc:  # the runner promises not to raise; if it does, the queue still goes on
            adapter(Failed(f"{job.input}: {one_line(exc)}"))
            return
        finally:
            self.active_key = None
            self._active_plan_key = None
        if isinstance(event, Finished):
            self._ready.add((job.settings.model, job.settings.device))

    def _serve_waiting_preview(self, runner: Runner) -> None:
        """Between a job's chunks: a waiting preview with the job's model and sizes runs now, on its runner."""
        key = self.active_key
        request: PreviewRequest | None = self._previews.take_if(lambda r: preview_key(r.settings) == key)
        if request is not None:
            self._serve_preview(request, runner, "between chunks of the running job…")

    def _serve_waiting_estimates(self, runner: Runner) -> None:
        """Between a job's chunks: known estimates for jobs with the running job's settings (its runner as
        it is; a measurement, or other settings, wait until the engine is free)."""
        key = self._active_plan_key

        def same_plan(r: EstimateRequest) -> bool:
            return not r.calibrate and plan_key(r.settings) == key

        for request in self._estimates.take(same_plan):
            self._serve_estimate(request, runner)

    @Slot()
    def run_estimates(self) -> None:
        """Estimates asked for (a measurement runs the model on random frames: seconds to a minute)."""
        for request in self._estimates.take():
            try:
                runner = self._runner.runner_for(request.settings)
            except Exception as exc:  # a bad model file: no estimate, and why
                self.estimateReady.emit(
                    EstimateResult(request.item_id, estimate_key(request.settings), "", f"No estimate: {one_line(exc)}")
                )
                continue
            self._serve_estimate(request, runner)

    def _serve_estimate(self, request: EstimateRequest, runner: Runner) -> None:
        try:
            text, tip = job_estimate(runner, request)
        except Exception as exc:  # shown in the tooltip; nothing else stops
            text, tip = "", f"No estimate: {one_line(exc)}"
        self.estimateReady.emit(EstimateResult(request.item_id, estimate_key(request.settings), text, tip))

    @Slot()
    def run_preview(self) -> None:
        """Upscale the chunk around the newest requested frame (older unserved requests are dropped)."""
        request: PreviewRequest | None = self._previews.take()
        if request is None:
            return
        try:
            runner = self._runner.runner_for(request.settings)
        except Exception as exc:  # a bad model file: shown beside the preview
            self.previewFailed.emit(request.item_id, one_line(exc))
            return
        self._serve_preview(request, runner, self._stage(request.settings))

    def _serve_preview(self, request: PreviewRequest, runner: Runner, stage: str) -> None:
        s = request.settings
        self.previewStarted.emit(request.item_id, stage)
        frames_before = getattr(runner, "frames_upscaled", 0)
        start = time.monotonic()
        try:
            pair = engine_job.preview_frame(request.path, request.frame_index, s, runner=runner)
        except Exception as exc:  # shown beside the preview; nothing else stops
            self.previewFailed.emit(request.item_id, one_line(exc))
            return
        self._ready.add((s.model, s.device))
        self.log.emit(
            f"preview of frame {request.frame_index}: upscaled "
            f"{getattr(runner, 'frames_upscaled', 0) - frames_before} frames around it "
            f"in {time.monotonic() - start:.1f} s",
            "info",
        )
        self.previewReady.emit(
            request.item_id, pair.frame_index, to_qimage(pair.bicubic), to_qimage(pair.upscaled), preview_key(s)
        )


class ImportWorker(QObject):
    """Lives in the import thread: .pth files become checkpoints in the user's model folder."""

    capabilities = Signal(object)  # Capabilities, after a preset got its weights
    modelImported = Signal(str, str, str)  # source .pth, installed .ckpt, preset name or ""
    modelImportFailed = Signal(str, str)  # source, reason
    modelNeedsArch = Signal(str)  # source .pth whose shapes fit no preset
    log = Signal(str, str)  # text, level

    @Slot(str, str)
    def import_model(self, source: str, arch_file: str) -> None:
        """Convert a .pth into the user's model folder; a preset's weights install under its name.

        Why the name: a preset finds its weights as ``<preset>.ckpt`` there, the file that
        ``vrt-convert --preset NAME --install`` writes too. Without ``arch_file`` the architecture is
        recognised from the tensor shapes; when no preset fits, ``modelNeedsArch`` asks for a YAML file.
        """
        from vrt_engine.cli_common import load_arch_file
        from vrt_engine.model import preset_of
        from vrt_engine.models_dir import user_models_dir
        from vrt_engine.weights import WeightsError, convert_pth, read_pth

        src = Path(source)
        staging: Path | None = None
        try:
            arch = load_arch_file(arch_file) if arch_file else None
            folder = user_models_dir()
            folder.mkdir(parents=True, exist_ok=True)
            staging = folder / f".{src.stem}.importing.ckpt"
            self.log.emit(f"importing {src.name} into {folder}", "info")
            try:
                used = convert_pth(src, staging, arch)
            except WeightsError:
                if arch is not None:
                    raise
                read_pth(src)  # an unreadable file raises its own reason here; a readable one fits no preset
                self.modelNeedsArch.emit(source)
                return
            except (TypeError, ValueError) as exc:  # values in the architecture file
                raise ValueError(f"{arch_file}: {one_line(exc)}") from None
            preset = preset_of(used)
            dst = folder / f"{preset or installed_stem(src.stem)}.ckpt"
            if preset and dst.exists():
                self.log.emit(f"replacing the weights installed before for {preset}", "info")
            os.replace(staging, dst)
        except Exception as exc:
            if staging is not None:
                staging.unlink(missing_ok=True)
            self.modelImportFailed.emit(source, one_line(exc))
            return
        if preset:  # the preset has weights now: the form must offer it before it is chosen
            self.capabilities.emit(discover_capabilities(lambda text: self.log.emit(text, "warning")))
        self.modelImported.emit(source, str(dst), preset or "")


def installed_stem(stem: str) -> str:
    """A file name for an imported non-preset model that cannot shadow a preset's weights."""
    from vrt_engine.model import PRESETS

    return f"{stem}-imported" if stem in PRESETS else stem


class IoWorker(QObject):
    """Lives in the I/O thread: probing, one-frame decoding, cleaning work folders."""

    probed = Signal(str, object)  # path, VideoInfo
    refused = Signal(str, str)  # path, one-line reason
    probesDone = Signal()
    frameReady = Signal(int, int, QImage)  # item id, frame index, input frame as bicubic x4
    frameFailed = Signal(int, str)

    def __init__(self, frames: Latest) -> None:
        super().__init__()
        self._frames = frames

    @Slot(object)
    def probe_paths(self, paths: list[str]) -> None:
        """Expand folders, then probe every file; each result is reported as soon as it is known."""
        for raw in paths:
            for path, problem in expand_paths([raw]):
                if problem:
                    self.refused.emit(str(path), problem)
                    continue
                try:
                    info = video.probe(path)
                    video.check_timing(info)
                except video.VideoError as exc:
                    self.refused.emit(str(path), one_line(exc))
                except Exception as exc:  # anything else is still a refusal of this one file
                    self.refused.emit(str(path), f"{path}: {one_line(exc)}")
                else:
                    self.probed.emit(str(path), info)
        self.probesDone.emit()

    @Slot()
    def read_frame(self) -> None:
        """Decode the newest requested input frame and scale it x4 (bicubic) for the compare view."""
        from vrt_engine.runner import bicubic_upscale

        request: FrameRequest | None = self._frames.take()
        if request is None:
            return
        try:
            frames = video.read_frames(request.path, request.info, start=request.frame_index)
            try:
                frame = next(frames)
            finally:
                frames.close()
            if frame.dtype == np.uint16:
                frame = (frame >> 8).astype(np.uint8)
            image = to_qimage(bicubic_upscale(frame, 4))
        except Exception as exc:
            self.frameFailed.emit(request.item_id, one_line(exc))
            return
        self.frameReady.emit(request.item_id, request.frame_index, image)

    @Slot(str)
    def remove_work_dir(self, folder: str) -> None:
        """Delete the hidden resume folder of a job the user removed from the queue."""
        shutil.rmtree(folder, ignore_errors=True)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """Files as given; a folder of PNG frames as one input; any other folder as the videos inside it.

    Returns (path, problem) pairs; problem is "" for something worth probing.
    """
    out: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.is_dir():
            out.append((p, ""))
            continue
        try:
            entries = list(p.iterdir())
        except OSError as exc:
            out.append((p, f"{p}: {one_line(exc)}"))
            continue
        if any(e.suffix.lower() == ".png" and e.is_file() for e in entries) and not any(
            e.suffix.lower() in VIDEO_SUFFIXES for e in entries
        ):
            out.append((p, ""))
            continue
        found = sorted(
            f
            for f in p.rglob("*")
            if f.suffix.lower() in VIDEO_SUFFIXES
            and f.is_file()
            and not any(part.startswith(".") for part in f.relative_to(p).parts)  # skips .NAME.vrt-work
        )
        if not found:
            out.append((p, f"{p}: no video files in this folder"))
        out.extend((f, "") for f in found)
    return out


# ---------------------------------------------------------------------------------------------- facade
class WorkerThread(QThread):
    """A QThread whose event loop runs inside Python, so the thread keeps one Python thread state.

    Why: a plain QThread gives each queued slot call a fresh Python thread state that is deleted when the
    slot returns. MindSpore's bindings remember the first one they saw in a thread, and in the next slot
    they wait for the GIL on that dead state while this thread holds the GIL: the whole app freezes
    (seen with MindSpore 2.10: device discovery in one slot, then ``mindspore.set_device`` in the next).
    """

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)

    def run(self) -> None:
        self.exec()


class Engine(QObject):
    """The app's handle on the workers: call its methods on the UI thread, connect to its signals."""

    # results, delivered on the UI thread
    capabilities = Signal(object)
    jobStarted = Signal(int, str)
    jobProgress = Signal(int, object)
    jobPreview = Signal(int, int, QImage, QImage)
    jobPaused = Signal(int)
    jobEnded = Signal(int, object)
    previewStarted = Signal(int, str)
    previewReady = Signal(int, int, QImage, QImage, object)
    previewFailed = Signal(int, str)
    estimateReady = Signal(object)
    modelImported = Signal(str, str, str)
    modelImportFailed = Signal(str, str)
    modelNeedsArch = Signal(str)
    log = Signal(str, str)
    probed = Signal(str, object)
    refused = Signal(str, str)
    probesDone = Signal()
    frameReady = Signal(int, int, QImage)
    frameFailed = Signal(int, str)

    # requests, delivered to the workers' threads
    _runJob = Signal(int, object, object)
    _preview = Signal()
    _estimate = Signal()
    _importModel = Signal(str, str)
    _capabilities = Signal()
    _probe = Signal(object)
    _readFrame = Signal()
    _removeWorkDir = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._previews = Latest()
        self._frames = Latest()
        self._estimates = Pending()
        self._tokens: dict[int, JobToken] = {}

        self.engine_thread = WorkerThread("vrt-engine", self)
        self._engine = EngineWorker(self._previews, self._estimates)
        self._engine.moveToThread(self.engine_thread)
        self.engine_thread.finished.connect(self._engine.deleteLater)

        self.io_thread = WorkerThread("vrt-io", self)
        self._io = IoWorker(self._frames)
        self._io.moveToThread(self.io_thread)
        self.io_thread.finished.connect(self._io.deleteLater)

        self.import_thread = WorkerThread("vrt-import", self)
        self._import = ImportWorker()
        self._import.moveToThread(self.import_thread)
        self.import_thread.finished.connect(self._import.deleteLater)

        engine_signals = (
            "capabilities jobStarted jobProgress jobPreview jobPaused previewStarted previewReady previewFailed "
            "estimateReady log"
        )
        for name in engine_signals.split():
            getattr(self._engine, name).connect(getattr(self, name))
        self._engine.jobEnded.connect(self._on_job_ended)
        for name in "probed refused probesDone frameReady frameFailed".split():
            getattr(self._io, name).connect(getattr(self, name))
        for name in "capabilities modelImported modelImportFailed modelNeedsArch log".split():
            getattr(self._import, name).connect(getattr(self, name))

        self._runJob.connect(self._engine.run_job)
        self._preview.connect(self._engine.run_preview)
        self._estimate.connect(self._engine.run_estimates)
        self._importModel.connect(self._import.import_model)
        self._capabilities.connect(self._engine.load_capabilities)
        self._probe.connect(self._io.probe_paths)
        self._readFrame.connect(self._io.read_frame)
        self._removeWorkDir.connect(self._io.remove_work_dir)

        self.engine_thread.start()
        self.io_thread.start()
        self.import_thread.start()
        self._running = True

    # ----- requests -----
    def query_capabilities(self) -> None:
        """Ask for devices and models; the answer comes as ``capabilities``."""
        self._capabilities.emit()

    def probe(self, paths: list[str]) -> None:
        """Probe files and folders; answers come as ``probed`` / ``refused``, then ``probesDone``."""
        self._probe.emit(list(paths))

    def run_job(self, item_id: int, job: Job) -> JobToken:
        """Queue a job on the engine thread; returns its token (cancel, pause, resume from any thread).

        A pause takes effect between chunks; ``jobPaused`` says when it has.
        """
        token = JobToken()
        self._tokens[item_id] = token
        self._runJob.emit(item_id, job, token)
        return token

    def preview(self, item_id: int, path: Path, frame_index: int, settings: JobSettings) -> None:
        """Ask for a before/after preview of one frame; a newer request replaces one not yet started."""
        self._previews.put(PreviewRequest(item_id, Path(path), frame_index, settings))
        self._preview.emit()

    def estimate(
        self, item_id: int, path: Path, info: video.VideoInfo, frames: int, settings: JobSettings, calibrate: bool
    ) -> None:
        """Ask for a job's time estimate (``estimateReady``); ``calibrate``: measure it when none is known.

        Known ones are answered between a running job's chunks when it has the same settings."""
        self._estimates.put(item_id, EstimateRequest(item_id, Path(path), info, frames, settings, calibrate))
        self._estimate.emit()

    def preview_waits_for_job(self, settings: JobSettings) -> bool:
        """True when a running job holds another model or sizes, so a preview with these settings waits for its end."""
        active = self._engine.active_key
        return active is not None and active != preview_key(settings)

    def read_frame(self, item_id: int, path: Path, info: video.VideoInfo, frame_index: int) -> None:
        """Ask for one input frame (bicubic x4); a newer request replaces one not yet started."""
        self._frames.put(FrameRequest(item_id, Path(path), info, frame_index))
        self._readFrame.emit()

    def import_model(self, pth: str, arch_file: str = "") -> None:
        """Convert a .pth in the import thread (``arch_file``: its architecture YAML, for a non-preset one).

        Answers come as ``modelImported``, ``modelNeedsArch`` or ``modelImportFailed``.
        """
        self._importModel.emit(pth, arch_file)

    def remove_work_dir(self, folder: Path) -> None:
        """Forget a job's resume folder (in the I/O thread)."""
        self._removeWorkDir.emit(str(folder))

    # ----- lifetime -----
    @property
    def running(self) -> bool:
        """False once shut down."""
        return self._running

    def cancel_all(self) -> None:
        """Cancel every job sent to the engine thread that has not ended yet."""
        for token in self._tokens.values():
            token.cancel()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel what runs, stop the threads and wait for them; True when all have finished."""
        if not self._running:
            return True
        self._running = False
        self.cancel_all()
        threads = (self.engine_thread, self.io_thread, self.import_thread)
        for thread in threads:
            thread.quit()
        return all([thread.wait() if timeout_ms < 0 else thread.wait(timeout_ms) for thread in threads])

    @Slot(int, object)
    def _on_job_ended(self, item_id: int, event: object) -> None:
        self._tokens.pop(item_id, None)
        self.jobEnded.emit(item_id, event)
