"""Progress of the running job and of the whole queue: bars, frames, speed, ETA, elapsed."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from .queue_table import QueueItem, Status, human_time

RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"  # QueueProgress.state


@dataclass(frozen=True)
class QueueProgress:
    """The whole queue's numbers (failed and cancelled jobs left out)."""

    frames_done: int = 0
    frames_total: int = 0
    jobs_done: int = 0
    jobs_total: int = 0
    elapsed: float = 0.0  # seconds the jobs have run, summed
    fps: float = 0.0  # frames done per second of running
    eta: float | None = None  # seconds left at that speed
    state: str = RUNNING  # a speed and time left are shown only while a job runs


class ProgressPanel(QWidget):
    """Two bars (job, queue) with their numbers; fed by the main window from controller state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_label = QLabel("No job running", self)
        self.job_label.setToolTip("The job being upscaled")
        self.job_bar = QProgressBar(self)
        self.job_bar.setRange(0, 1000)
        self.job_bar.setValue(0)
        self.job_bar.setFormat("%p%")
        self.job_bar.setToolTip("Progress of the running job")
        self.job_stats = QLabel("", self)
        self.job_stats.setToolTip("Frames done of all, speed in frames per second, time left and time spent")
        self.queue_label = QLabel("Queue", self)
        self.queue_label.setToolTip("Jobs finished of all jobs to run")
        self.queue_bar = QProgressBar(self)
        self.queue_bar.setRange(0, 1000)
        self.queue_bar.setValue(0)
        self.queue_bar.setToolTip("Progress of the whole queue, counted in frames")
        self.queue_stats = QLabel("", self)
        self.queue_stats.setToolTip(
            "Frames done of all frames in the queue, average speed, time left for the whole queue and time spent"
        )
        for w in (self.job_stats, self.queue_stats):
            w.setMinimumWidth(
                w.fontMetrics().horizontalAdvance("88,888 / 88,888 frames · 88.8 fps · ETA 8:88:88 · elapsed 8:88:88")
            )
        for w in (self.job_label, self.queue_label):
            w.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            w.setMinimumWidth(w.fontMetrics().horizontalAdvance("M" * 14))
            w.setMaximumWidth(w.fontMetrics().horizontalAdvance("M" * 22))
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.job_label, 0, 0)
        grid.addWidget(self.job_bar, 0, 1)
        grid.addWidget(self.job_stats, 0, 2)
        grid.addWidget(self.queue_label, 1, 0)
        grid.addWidget(self.queue_bar, 1, 1)
        grid.addWidget(self.queue_stats, 1, 2)
        grid.setColumnStretch(1, 1)

    def show_job(self, item: QueueItem | None) -> None:
        """The running (or last) job's numbers; a busy bar while the model is prepared."""
        if item is None or not item.status.active:
            self.job_label.setText("No job running")
            self.job_label.setToolTip("The job being upscaled")
            self.job_bar.setRange(0, 1000)
            self.job_bar.setValue(0)
            self.job_stats.setText("")
            return
        fm = self.job_label.fontMetrics()
        self.job_label.setText(fm.elidedText(item.name, Qt.TextElideMode.ElideMiddle, self.job_label.maximumWidth()))
        self.job_label.setToolTip(str(item.path))
        total = item.frames_total
        if item.status == Status.PREPARING:
            self.job_bar.setRange(0, 0)  # busy: graph compilation can take tens of seconds
            self.job_stats.setText(item.message or "Preparing model…")
            return
        self.job_bar.setRange(0, 1000)
        self.job_bar.setValue(int(item.fraction * 1000))
        frames = f"{item.frames_done:,} / {total:,} frames"
        elapsed = f"elapsed {human_time(item.elapsed)}"
        if item.status == Status.PAUSED and not item.pending:  # stopped: its last speed and ETA are stale
            self.job_stats.setText(f"{frames} · paused · {elapsed}")
            return
        pending = f" · {item.pending} after this chunk" if item.pending else ""
        self.job_stats.setText(f"{frames} · {item.fps:.1f} fps · ETA {human_time(item.eta)} · {elapsed}{pending}")

    def show_queue(self, q: QueueProgress) -> None:
        """The queue's bar and numbers; a speed and ETA only while a job runs, else what state it is in."""
        self.queue_label.setText(f"Queue: {q.jobs_done} of {q.jobs_total} done" if q.jobs_total else "Queue empty")
        self.queue_bar.setValue(int(1000 * q.frames_done / q.frames_total) if q.frames_total else 0)
        if not q.frames_total:
            self.queue_stats.setText("")
            return
        parts = [f"{q.frames_done:,} / {q.frames_total:,} frames"]
        if q.elapsed > 0:
            if q.state == RUNNING:
                parts.append(f"{q.fps:.1f} fps")
                if q.frames_done < q.frames_total:
                    parts.append(f"ETA {human_time(q.eta)}")
            elif q.state == PAUSED:
                parts.append("paused")
            else:
                parts.append("finished" if q.frames_done >= q.frames_total else "stopped")
            parts.append(f"elapsed {human_time(q.elapsed)}")
        self.queue_stats.setText(" · ".join(parts))
