"""The queue's behaviour: what runs next, pause/cancel/retry, per-job settings, previews.

It sits between the window (which only draws and forwards user intent) and :class:`Engine` (which
does the work in its threads). All of it runs on the UI thread and never blocks: every request to
the engine returns at once and the answer comes back as a signal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from vrt_engine.frame_range import FrameRange, with_range_suffix
from vrt_engine.job import Cancelled, Failed, Finished, Job, Progress
from vrt_engine.job_list import Clash, PlannedJob, clash
from vrt_engine.video import VideoInfo

from .estimates import EstimateResult, estimate_key
from .settings import AppSettings, JobPrefs
from .widgets.progress_panel import PAUSED, RUNNING, STOPPED, QueueProgress
from .widgets.queue_table import QueueItem, QueueModel, Status, human_time
from .worker import Capabilities, Engine, JobToken

MODEL_SUFFIXES = (".ckpt", ".pth")


class QueueController(QObject):
    """Owns the queue model and drives the engine; the main window connects to its signals."""

    statusMessage = Signal(str)
    logLine = Signal(str, str)  # text, level
    errorReported = Signal(str, str)  # title, one-line reason (a job failed, a model did not import)
    stateChanged = Signal()  # running / paused / current job changed
    itemChanged = Signal(int)  # an item's progress or status changed
    itemsAdded = Signal(list)  # ids, in queue order
    idle = Signal()  # no job is running any more
    jobStarted = Signal(int)
    jobPreview = Signal(int, int, QImage, QImage)  # item id, frame, bicubic x4, model output
    previewStarted = Signal(int, str)
    previewReady = Signal(int, int, QImage, QImage, object)  # ..., preview_key of the settings it was made with
    previewFailed = Signal(int, str)
    frameReady = Signal(int, int, QImage)
    frameFailed = Signal(int, str)
    capabilities = Signal(object)  # Capabilities
    modelReady = Signal(str)  # a model (preset name or file) to offer and select
    architectureNeeded = Signal(str)  # a .pth that fits no preset: ask the user for its architecture file

    def __init__(self, engine: Engine, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.settings = settings
        self.model = QueueModel(self)
        self.defaults: JobPrefs = settings.job_defaults()
        self._current: int | None = None
        self._token: JobToken | None = None
        self._queue_running = False
        self._chosen: list[int] = []  # jobs asked for by name (Start selected, Retry) while the queue is stopped
        self._pending_probes = 0
        self._batch_added = 0
        self._batch_refused: list[str] = []

        engine.probed.connect(self._on_probed)
        engine.refused.connect(self._on_refused)
        engine.probesDone.connect(self._on_probes_done)
        engine.jobStarted.connect(self._on_job_started)
        engine.jobProgress.connect(self._on_progress)
        engine.jobPreview.connect(self.jobPreview)
        engine.jobPaused.connect(self._on_job_paused)
        engine.jobEnded.connect(self._on_job_ended)
        engine.previewStarted.connect(self.previewStarted)
        engine.previewReady.connect(self.previewReady)
        engine.previewFailed.connect(self._on_preview_failed)
        engine.frameReady.connect(self.frameReady)
        engine.frameFailed.connect(self.frameFailed)
        engine.capabilities.connect(self._on_capabilities)
        engine.modelImported.connect(self._on_model_imported)
        engine.modelImportFailed.connect(self._on_model_import_failed)
        engine.modelNeedsArch.connect(self._on_model_needs_arch)
        engine.estimateReady.connect(self._on_estimate)
        engine.log.connect(self.logLine)
        engine.query_capabilities()

    # ------------------------------------------------------------------ state
    @property
    def current(self) -> QueueItem | None:
        """The job in the engine's hands, if any."""
        return self.model.find(self._current) if self._current is not None else None

    @property
    def current_id(self) -> int | None:
        return self._current

    @property
    def busy(self) -> bool:
        return self._current is not None

    @property
    def paused(self) -> bool:
        item = self.current
        return item is not None and item.status == Status.PAUSED

    @property
    def queue_running(self) -> bool:
        return self._queue_running

    @property
    def probing(self) -> bool:
        return self._pending_probes > 0

    def overall(self) -> QueueProgress:
        """The queue's frames, jobs, speed and time left, leaving out failed and cancelled jobs."""
        done = total = jobs_done = jobs = 0
        elapsed = 0.0
        for it in self.model.items():
            if it.status in (Status.FAILED, Status.CANCELLED):
                continue
            jobs += 1
            total += it.frames_total
            if it.status == Status.DONE:
                jobs_done += 1
                done += it.frames_total
                elapsed += it.elapsed
            elif it.status.active:
                done += it.frames_done
                elapsed += it.elapsed
        fps = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / fps if fps > 0 else None
        current = self.current
        if current is None:
            state = STOPPED
        elif current.status == Status.PAUSED and not current.pending:
            state = PAUSED
        else:
            state = RUNNING
        return QueueProgress(done, total, jobs_done, jobs, elapsed, fps, eta, state)

    # ------------------------------------------------------------------ adding
    def add_paths(self, paths: list[str]) -> None:
        """Probe files and folders off the UI thread; good ones join the queue, others are refused."""
        paths = [p for p in (str(p).strip() for p in paths) if p]
        if not paths:
            return
        if self._pending_probes == 0:
            self._batch_added, self._batch_refused = 0, []
        self._pending_probes += 1
        self.statusMessage.emit(f"Checking {len(paths)} item{'s' if len(paths) != 1 else ''}…")
        self.engine.probe(paths)

    @Slot(str, object)
    def _on_probed(self, path: str, info: VideoInfo) -> None:
        p = Path(path)
        item = QueueItem(p, info, self.defaults.copy())
        reason = self._clash(item)
        if reason is not None:
            self._on_refused(path, f"{p}: already in the queue" if reason.repeat else reason.text)
            return
        self.model.add(item)
        self._ask_estimate(item)
        self._batch_added += 1
        self.logLine.emit(
            f"added {p.name}: {info.width}×{info.height}, {info.frame_count} frames, {human_time(info.duration)}",
            "info",
        )
        self.itemsAdded.emit([item.id])
        self.stateChanged.emit()

    @Slot(str, str)
    def _on_refused(self, path: str, reason: str) -> None:
        self._batch_refused.append(reason)
        self.logLine.emit(f"refused {reason}", "warning")
        self.statusMessage.emit(f"Refused: {reason}")

    @Slot()
    def _on_probes_done(self) -> None:
        self._pending_probes = max(0, self._pending_probes - 1)
        if self._pending_probes:
            return
        added, refused = self._batch_added, self._batch_refused
        parts = []
        if added:
            parts.append(f"Added {added} job{'s' if added != 1 else ''}")
        if refused:
            parts.append(f"refused {len(refused)}: {refused[-1]}")
        if parts:
            text = "; ".join(parts)
            self.statusMessage.emit(text[0].upper() + text[1:])

    def _clash(self, item: QueueItem, frame_range: FrameRange | None = None, *, ranged: bool = False) -> Clash | None:
        """Why ``item`` (with ``frame_range`` when ``ranged``) cannot be in the queue beside the other
        unfinished jobs: the same input and range again, or an output another job writes (one line)."""
        rng = frame_range if ranged else item.frame_range
        planned = PlannedJob(item.path, with_range_suffix(item.prefs.output_path(item.path), rng), rng)
        others = [
            PlannedJob(it.path, it.output if it.status.active and it.output else it.planned_output(), it.frame_range)
            for it in self.model.items()
            if it.id != item.id and it.status != Status.DONE
        ]
        return clash(planned, others)

    def set_item_range(self, item_id: int, frame_range: FrameRange | None) -> bool:
        """Upscale only this part of a job's input (None: all of it); refused with a message when the job
        ran already, or when another job has the same input and range."""
        item = self.model.find(item_id)
        if item is None:
            return False
        if not item.status.editable:
            self.statusMessage.emit(f"{item.name}: the part of a running or finished job cannot change")
            return False
        if frame_range is not None and (frame_range.first, frame_range.stop) == (0, item.info.frame_count):
            frame_range = None
        reason = self._clash(item, frame_range, ranged=True)
        if reason is not None:
            self.logLine.emit(f"range not set: {reason}", "warning")
            self.statusMessage.emit(f"Range not set: {reason}")
            return False
        if item.status == Status.CANCELLED and item.output is not None:
            old_work = Job(item.path, item.output).work_dir
            if with_range_suffix(item.prefs.output_path(item.path), frame_range) != item.output:
                self.engine.remove_work_dir(old_work)  # another part is another output: its work can't resume
                self.logLine.emit(f"{item.name}: the cancelled part's unfinished work was discarded", "info")
        item.frame_range = frame_range
        self._ask_estimate(item)
        self.model.changed(item_id)
        self.itemChanged.emit(item_id)
        self.stateChanged.emit()
        text = f"frames {frame_range.first}–{frame_range.stop - 1}" if frame_range else "the whole input"
        self.statusMessage.emit(f"{item.name}: upscaling {text}")
        return True

    def _queue_clashes(self, items: list[QueueItem]) -> str | None:
        """The first clash among these waiting jobs and the others (settings may have changed outputs)."""
        for item in items:
            reason = self._clash(item)
            if reason is not None:
                return reason.text
        return None

    # ------------------------------------------------------------------ queue control
    def start(self) -> None:
        """Run the waiting jobs from the top (or resume a paused one)."""
        if self.paused:
            self.resume()
            return
        reason = self._queue_clashes([it for it in self.model.items() if it.status == Status.WAITING])
        if reason is not None:
            self.statusMessage.emit(f"Not started: {reason}")
            self.logLine.emit(f"not started: {reason}", "warning")
            return
        if self.model.next_waiting() is None and not self.busy:
            self.statusMessage.emit(
                "Nothing to run: add videos first"
                if not self.model.rowCount()
                else "No waiting jobs (Retry runs one again)"
            )
            return
        self._queue_running = True
        self._start_next()
        self.stateChanged.emit()

    def pause(self) -> None:
        """Pause the running job at the next chunk boundary (the queue waits with it)."""
        item = self.current
        if item is None or self._token is None or item.status == Status.PAUSED:
            return
        self._token.pause()
        item.status = Status.PAUSED
        item.pending = "pausing"
        self.model.changed(item.id)
        self.logLine.emit(f"pausing {item.name} after the chunk in progress", "info")
        self.statusMessage.emit(f"Pausing {item.name}: it stops after the chunk in progress")
        self.stateChanged.emit()

    def resume(self) -> None:
        item = self.current
        if item is None or self._token is None or item.status != Status.PAUSED:
            return
        self._token.resume()
        item.status = Status.RUNNING if item.frames_done else Status.PREPARING
        item.pending = ""
        self.model.changed(item.id)
        self.logLine.emit(f"resumed {item.name}", "info")
        self.statusMessage.emit(f"Resumed {item.name}")
        self.stateChanged.emit()

    def toggle_pause(self) -> None:
        if self.paused:
            self.resume()
        else:
            self.pause()

    def cancel(self) -> None:
        """Stop the queue: cancel the running job (its finished segments are kept for a resume)."""
        self._queue_running = False
        self._chosen = []
        if self._token is not None:
            self._token.cancel()
            item = self.current
            if item is not None:
                self._mark_cancelling(item)
            self.statusMessage.emit(f"Cancelling {item.name if item else 'the job'}…")
        self.stateChanged.emit()

    def cancel_items(self, item_ids: list[int]) -> None:
        """Cancel these jobs: the running one stops (the queue goes on), waiting ones are skipped."""
        for item_id in item_ids:
            item = self.model.find(item_id)
            if item is None:
                continue
            if item_id == self._current and self._token is not None:
                self._token.cancel()
                self._mark_cancelling(item)
                self.statusMessage.emit(f"Cancelling {item.name}…")
            elif item.status == Status.WAITING:
                item.status = Status.CANCELLED
                item.message = "skipped"
                self.model.changed(item_id)
                self.logLine.emit(f"skipped {item.name}", "info")
        self.stateChanged.emit()

    def _mark_cancelling(self, item: QueueItem) -> None:
        """Say in the table that a cancel is on its way: a running job stops after its chunk in progress."""
        if item.status != Status.PAUSED or item.pending:  # a job that has paused stops at once
            item.pending = "cancelling"
            self.model.changed(item.id)
            self.itemChanged.emit(item.id)

    def start_items(self, item_ids: list[int]) -> None:
        """Run these jobs next: at once if nothing runs, else right after the running one."""
        waiting = [i for i in item_ids if (it := self.model.find(i)) is not None and it.status == Status.WAITING]
        if not waiting:
            self.statusMessage.emit("Select a waiting job to start it (Retry queues a failed one again)")
            return
        reason = self._queue_clashes([it for i in waiting if (it := self.model.find(i)) is not None])
        if reason is not None:
            self.statusMessage.emit(f"Not started: {reason}")
            self.logLine.emit(f"not started: {reason}", "warning")
            return
        first_waiting = self.model.next_waiting()
        self.model.move_to(waiting, self.model.row_of(first_waiting.id) if first_waiting else 0)
        self._chosen.extend(i for i in waiting if i not in self._chosen)
        self._start_next()
        self.stateChanged.emit()

    def retry(self, item_ids: list[int]) -> None:
        """Run failed or cancelled jobs again, and only them: other waiting jobs stay waiting.

        While the queue runs they wait for their turn in it. A cancelled job resumes from its
        finished segments.
        """
        again = []
        for item_id in item_ids:
            item = self.model.find(item_id)
            if item is not None and item.status in (Status.FAILED, Status.CANCELLED):
                item.status = Status.WAITING
                item.frames_done, item.fps, item.eta, item.elapsed, item.message = 0, 0.0, None, 0.0, ""
                item.pending = ""
                self.model.changed(item_id)
                again.append(item)
        if not again:
            self.statusMessage.emit("Only failed or cancelled jobs can be retried")
            return
        names = ", ".join(it.name for it in again)
        self.logLine.emit(f"queued again: {names}", "info")
        if self._queue_running:
            self.statusMessage.emit(f"Queued again: {names} (runs in its turn)")
        else:
            self._chosen.extend(it.id for it in again if it.id not in self._chosen)
            self._start_next()
        self.stateChanged.emit()

    def remove(self, item_ids: list[int]) -> None:
        """Take jobs off the queue (not the running one); a cancelled job's resume folder is deleted."""
        keep = [i for i in item_ids if i == self._current]
        if keep:
            self.statusMessage.emit("The running job stays in the queue: cancel it first")
        removed = self.model.remove([i for i in item_ids if i != self._current])
        for item in removed:
            if item.status == Status.CANCELLED and item.output is not None:
                self.engine.remove_work_dir(Job(item.path, item.output).work_dir)
        if removed:
            self.logLine.emit(f"removed {', '.join(it.name for it in removed)}", "info")
        self.stateChanged.emit()

    def clear_finished(self) -> None:
        self.remove([it.id for it in self.model.items() if it.status == Status.DONE])

    def move(self, item_ids: list[int], delta: int) -> bool:
        moved = self.model.move(item_ids, delta)
        if moved:
            self.stateChanged.emit()
        return moved

    # ------------------------------------------------------------------ settings
    def set_defaults(self, prefs: JobPrefs) -> None:
        """New defaults for jobs added from now on (saved at once)."""
        self.defaults = prefs.copy()
        self.settings.set_job_defaults(self.defaults)

    def set_item_prefs(self, item_ids: list[int], prefs: JobPrefs) -> None:
        """Give these jobs these settings (jobs that ran or are running keep theirs)."""
        for item_id in item_ids:
            item = self.model.find(item_id)
            if item is not None and item.status.editable:
                item.prefs = prefs.copy()
                self._ask_estimate(item)
                self.model.changed(item_id)

    def apply_defaults_to_waiting(self) -> None:
        n = 0
        for item in self.model.items():
            if item.status == Status.WAITING:
                item.prefs = self.defaults.copy()
                self._ask_estimate(item)
                self.model.changed(item.id)
                n += 1
        self.statusMessage.emit(f"Default settings applied to {n} waiting job{'s' if n != 1 else ''}")

    # ------------------------------------------------------------------ time estimates
    def _ask_estimate(self, item: QueueItem, calibrate: bool = False) -> None:
        """Ask the engine how long this job will take (answered off the UI thread; "–" until then)."""
        item.time_estimate = ""
        item.time_estimate_tip = "Measuring this model and plan on this machine…" if calibrate else ""
        self.engine.estimate(item.id, item.path, item.info, item.frames_total, item.job_settings(), calibrate)

    def measure_estimates(self, item_ids: list[int]) -> None:
        """Measure the selected jobs' model and plan (a short run in the engine, kept for later jobs)."""
        items = [it for it in (self.model.find(i) for i in item_ids) if it is not None and it.status.editable]
        for item in items:
            self._ask_estimate(item, calibrate=True)
            self.model.changed(item.id)
        if items:
            self.statusMessage.emit(f"Measuring the time of {len(items)} job{'s' if len(items) != 1 else ''}…")

    @Slot(object)
    def _on_estimate(self, result: EstimateResult) -> None:
        item = self.model.find(result.item_id)
        if item is None or estimate_key(item.job_settings()) != result.key:
            return  # removed, or its settings changed since: a newer answer is on its way
        item.time_estimate, item.time_estimate_tip = result.text, result.tip
        self.model.changed(item.id)

    def use_model_file(self, path: str) -> None:
        """A model file the user picked: a .ckpt is used as is, a .pth is imported first (in the engine)."""
        suffix = Path(path).suffix.lower()
        if suffix == ".ckpt":
            self.modelReady.emit(path)
        elif suffix == ".pth":
            self.import_pth(path)
        else:
            reason = f"{path}: not a model file (choose a .ckpt or .pth)"
            self.logLine.emit(reason, "warning")
            self.statusMessage.emit(reason)

    def import_pth(self, path: str, arch_file: str = "") -> None:
        """Convert an authors' .pth (in the engine); ``arch_file`` is the architecture of a non-preset one."""
        self.statusMessage.emit(f"Importing {Path(path).name}… (converting to a checkpoint)")
        self.engine.import_model(path, arch_file)

    def architecture_not_given(self, path: str) -> None:
        """The user closed the architecture dialog: say why nothing was imported, and how to do it."""
        reason = (
            f"{Path(path).name} was not imported: it fits none of the known models, and importing it needs "
            "its architecture file (YAML); import it again and choose that file"
        )
        self.logLine.emit(reason, "warning")
        self.statusMessage.emit(reason)

    # ------------------------------------------------------------------ previews
    def request_frame(self, item_id: int, frame_index: int) -> None:
        """Decode one input frame for the compare view (quick, in the I/O thread)."""
        item = self.model.find(item_id)
        if item is not None:
            self.engine.read_frame(item.id, item.path, item.info, frame_index)

    def request_preview(self, item_id: int, frame_index: int) -> None:
        """Run the job's model on the chunk around one frame (in the engine thread, between a running job's
        chunks when it uses the same model, else after it)."""
        item = self.model.find(item_id)
        if item is not None:
            self.engine.preview(item.id, item.path, frame_index, item.prefs.job_settings())  # the frame, not the range

    def preview_waits_for_job(self, item_id: int) -> bool:
        """True when this item's preview must wait for the running job to end (another model or sizes)."""
        item = self.model.find(item_id)
        return item is not None and self.engine.preview_waits_for_job(item.prefs.job_settings())

    # ------------------------------------------------------------------ lifetime
    def shutdown(self) -> None:
        """Cancel what runs and wait for the engine threads to end (no partial output is left)."""
        self._queue_running = False
        self.engine.shutdown()

    # ------------------------------------------------------------------ running
    def _start_next(self) -> None:
        """The next waiting job in queue order: any while the queue runs, else only the chosen ones."""
        if self._current is not None:
            return
        if self._queue_running:
            item = self.model.next_waiting()
        else:
            chosen = (it for it in self.model.items() if it.id in self._chosen and it.status == Status.WAITING)
            item = next(chosen, None)
        if item is None:
            self._chosen = []
            if self._queue_running:
                self._queue_running = False
                self._summary()
            self.stateChanged.emit()
            self.idle.emit()
            return
        self._run(item)

    def _run(self, item: QueueItem) -> None:
        reason = self._clash(item)
        if reason is not None:  # its settings changed after the queue was checked: it fails, nothing ran
            self._on_job_ended(item.id, Failed(reason, ""))
            return
        prefs = item.prefs
        job = Job(item.path, item.planned_output(), item.job_settings())
        item.output = job.output
        item.status = Status.PREPARING
        item.frames_done, item.fps, item.eta, item.elapsed = 0, 0.0, None, 0.0
        item.message = "Waiting for the engine…"
        item.pending = ""
        self._current = item.id
        if item.id in self._chosen:
            self._chosen.remove(item.id)
        self.model.changed(item.id)
        self.logLine.emit(f"starting {item.name} → {job.output} (model {prefs.model})", "info")
        self._token = self.engine.run_job(item.id, job)
        self.stateChanged.emit()

    def _summary(self) -> None:
        items = self.model.items()
        done = sum(it.status == Status.DONE for it in items)
        failed = sum(it.status == Status.FAILED for it in items)
        text = f"Queue finished: {done} done" + (f", {failed} failed" if failed else "")
        self.statusMessage.emit(text)
        self.logLine.emit(text.lower(), "info")

    @Slot(int, str)
    def _on_job_started(self, item_id: int, stage: str) -> None:
        item = self.model.find(item_id)
        if item is None:
            return
        if item.status != Status.PAUSED:
            item.status = Status.PREPARING
        item.message = stage[:1].upper() + stage[1:]
        self.model.changed(item_id)
        self.statusMessage.emit(f"{item.name}: {stage}")
        self.jobStarted.emit(item_id)
        self.itemChanged.emit(item_id)

    @Slot(int, object)
    def _on_progress(self, item_id: int, p: Progress) -> None:
        item = self.model.find(item_id)
        if item is None:
            return
        item.frames_done, item.fps, item.eta, item.elapsed = p.frames_done, p.fps, p.eta_seconds, p.elapsed_seconds
        if item.status != Status.PAUSED:
            item.status = Status.RUNNING
        item.message = ""
        self.model.changed(item_id)
        self.itemChanged.emit(item_id)

    @Slot(int)
    def _on_job_paused(self, item_id: int) -> None:
        """The pause asked for has taken effect: the job waits between chunks."""
        item = self.model.find(item_id)
        if item is None or item.status != Status.PAUSED or item.pending != "pausing":
            return  # resumed or cancelled before the news came
        item.pending = ""
        self.model.changed(item_id)
        self.logLine.emit(f"paused {item.name} at frame {item.frames_done} of {item.frames_total}", "info")
        self.statusMessage.emit(f"Paused {item.name}; Resume continues it")
        self.itemChanged.emit(item_id)
        self.stateChanged.emit()

    @Slot(int, object)
    def _on_job_ended(self, item_id: int, event: object) -> None:
        item = self.model.find(item_id)
        if item is not None:
            item.pending = ""
            if isinstance(event, Finished):
                item.status = Status.DONE
                item.frames_done = event.frames
                item.elapsed = event.seconds
                item.output = Path(event.output)
                item.message = f"saved {event.output}"
                self.logLine.emit(
                    f"done {item.name} → {event.output} ({event.frames} frames in {human_time(event.seconds)})", "info"
                )
                self.statusMessage.emit(f"Done: {Path(event.output).name}")
            elif isinstance(event, Failed):
                item.status = Status.FAILED
                item.message = event.reason
                self.logLine.emit(f"failed {item.name}: {event.reason}", "error")
                self.statusMessage.emit(f"Failed: {event.reason}")
                self.errorReported.emit(f"{item.name} failed", event.reason)
            elif isinstance(event, Cancelled):
                item.status = Status.CANCELLED
                item.message = "cancelled; finished parts kept, Retry resumes" if event.resumable else "cancelled"
                self.logLine.emit(f"cancelled {item.name}" + (" (resumable)" if event.resumable else ""), "info")
                self.statusMessage.emit(f"Cancelled {item.name}")
            self.model.changed(item_id)
            self.itemChanged.emit(item_id)
        if item_id == self._current:
            self._current = None
            self._token = None
        self._start_next()

    @Slot(int, str)
    def _on_preview_failed(self, item_id: int, reason: str) -> None:
        self.logLine.emit(f"preview failed: {reason}", "warning")
        self.previewFailed.emit(item_id, reason)

    @Slot(object)
    def _on_capabilities(self, caps: Capabilities) -> None:
        self.logLine.emit(
            f"devices: {', '.join(caps.devices)}; models with weights: {', '.join(caps.models) or 'none'}", "info"
        )
        self.capabilities.emit(caps)

    @Slot(str, str, str)
    def _on_model_imported(self, source: str, checkpoint: str, preset: str) -> None:
        self.logLine.emit(f"imported {Path(source).name} as {checkpoint}", "info")
        self.statusMessage.emit(
            f"Installed the weights of {preset}" if preset else f"Imported model {Path(checkpoint).name}"
        )
        self.modelReady.emit(preset or checkpoint)

    @Slot(str)
    def _on_model_needs_arch(self, source: str) -> None:
        self.logLine.emit(f"{Path(source).name} fits none of the known models: asking for its architecture", "info")
        self.architectureNeeded.emit(source)

    @Slot(str, str)
    def _on_model_import_failed(self, source: str, reason: str) -> None:
        self.logLine.emit(f"model import failed: {reason}", "error")
        self.statusMessage.emit(f"Model import failed: {reason}")
        self.errorReported.emit(f"Could not import {Path(source).name}", reason)
