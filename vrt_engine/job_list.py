"""The jobs of one command or queue, checked against each other before any of them runs.

Why up front: a second copy of an input used to fail only when its turn came, after the first had run
(hours on a CPU), because its output existed by then. Two jobs are the same job when they read the
same file (compared by device and inode, so ``a.mp4``, ``./a.mp4`` and a link to it are one) with the
same range, whatever output each would get: a repeat is merged into the first (the command line) or
refused (the app's queue). Two different jobs that would
write one output, or an output that is another job's input, are refused with one line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .frame_range import FrameRange


def file_identity(path: str | os.PathLike[str]) -> tuple:
    """What makes two paths one file: (device, inode) of an existing path, else its resolved name."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return ("path", os.path.normcase(str(p.resolve())))
    return ("inode", st.st_dev, st.st_ino)


@dataclass(frozen=True)
class PlannedJob:
    """One job as far as clashes go: what it reads, which part, what it writes."""

    input: Path
    output: Path
    range: FrameRange | None = None

    def same_job(self, other: PlannedJob) -> bool:
        return file_identity(self.input) == file_identity(other.input) and self.range == other.range


@dataclass(frozen=True)
class Clash:
    """Why a job cannot join others: ``text`` (one line), and whether it is a repeat of one of them
    (the same input and range, which a queue may word as "already in the queue")."""

    text: str
    repeat: bool = False

    def __str__(self) -> str:
        return self.text


def clash(job: PlannedJob, others: Sequence[PlannedJob]) -> Clash | None:
    """Why ``job`` cannot join ``others``, or None. A repeat of one of them is a clash here."""
    out = file_identity(job.output)
    for other in others:
        if job.same_job(other):
            part = f" ({job.range.label})" if job.range else ""
            return Clash(f"{job.input}{part}: already listed (as {other.input}, writing {other.output})", repeat=True)
        if file_identity(other.output) == out:
            return Clash(f"{job.output}: both {other.input} and {job.input} would write it (choose another output)")
        if file_identity(other.input) == out:
            return Clash(f"{job.output}: is the output of {job.input} and also an input; it would be overwritten")
        if file_identity(job.input) == file_identity(other.output):
            return Clash(f"{other.output}: is the output of {other.input} and also an input; it would be overwritten")
    return None


def merge_repeats(jobs: Sequence[PlannedJob]) -> tuple[list[PlannedJob], list[str]]:
    """The jobs with repeats merged into their first copy, and a notice for each repeat.

    Raises ValueError (one line) when two different jobs would write one file."""
    kept: list[PlannedJob] = []
    notices: list[str] = []
    for job in jobs:
        first = next((k for k in kept if k.same_job(job)), None)
        if first is not None:
            notices.append(f"{job.input}: listed twice (also as {first.input}); upscaling it once")
            continue
        reason = clash(job, kept)
        if reason is not None:
            raise ValueError(reason.text)
        kept.append(job)
    return kept, notices
