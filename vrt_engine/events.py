"""What a running job tells its caller (plain event objects), and the token that cancels or pauses it.

Kept apart from job.py so that the job loop, the work folder and the distributed ranks share them
without importing each other. Nothing here knows about Qt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_total: int
    fps: float
    eta_seconds: float | None
    elapsed_seconds: float  # since the job started, less the time it spent paused


@dataclass(frozen=True)
class PreviewPair:
    """One frame as bicubic x4 of the input and as the model's output (H, W, 3 uint8 RGB each)."""

    frame_index: int
    bicubic: np.ndarray
    upscaled: np.ndarray


@dataclass(frozen=True)
class LogLine:
    text: str
    level: str = "info"


@dataclass(frozen=True)
class Finished:
    output: Path
    frames: int
    seconds: float  # working time: like Progress.elapsed_seconds, time spent paused is left out


@dataclass(frozen=True)
class Failed:
    reason: str  # one line, names the file or setting
    detail: str = ""  # the traceback, for --debug and bug reports; never shown by default


@dataclass(frozen=True)
class Cancelled:
    resumable: bool


Event = Progress | PreviewPair | LogLine | Finished | Failed | Cancelled


class CancelToken:
    """Cancel and pause, set from any thread, honoured by the job between chunks."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused job so it can stop

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, idle: Callable[[], None] | None = None, interval: float = 0.2) -> float:
        """Return once not paused, with the seconds spent paused here (0.0 when it was not paused);
        ``idle`` runs now and every ``interval`` seconds while paused.

        Why ``idle``: the job's thread is the one holding the model, so work that needs the same model
        (a preview the user asked for) is done here, between chunks, instead of waiting for the job's end.
        Why the seconds: the job leaves them out of its elapsed time, fps and ETA.
        """
        began = time.monotonic()
        paused = self.paused
        if idle is not None:
            idle()
        if not paused:  # a pause that came while ``idle`` ran counts from here
            began = time.monotonic()
        while not self._running.wait(interval):
            paused = True
            if idle is not None:
                idle()
        return time.monotonic() - began if paused else 0.0


class JobCancelled(Exception):
    """Raised inside the job loop when the token says cancel."""


