"""The work folder beside an output (``.NAME.vrt-work``): what makes a job resumable and shareable.

Layout (see docs/architecture.md):

    job.json          the fingerprint of the settings that decide the output's bytes, and the chunk and
                      tile sizes the run actually used (an out-of-memory retry's smaller tile sticks)
    seg_00000.mkv     finished segments, one per group of consecutive chunks (.nut for timed input,
    seg_00001.mkv     a folder of PNGs for png output)
    seg_00002.claim   segment 2 is being computed: host, pid and start time of the process doing it
    claims.lock       taken (flock) only while a stale claim is broken

A segment is written under a temporary name and renamed when complete, so a segment file that
exists is whole. Segment boundaries depend only on the plan, so a rerun of the same settings finds
the same segments and computes only the missing ones, in any order. A segment is claimed by creating
its claim file (atomic: O_CREAT | O_EXCL) and released after it is published; a claim whose process
is gone (same host: its pid ended or now names another process; another host: untouched for an
hour) is stale and may be taken. So several processes (msrun's ranks) share one job, and a segment is
never written by two at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import tiling

try:
    import fcntl
except ImportError:  # Windows: one process per job there (no msrun on Windows)
    fcntl = None


def first_contributor(plan: tiling.ChunkPlan, k: int) -> int:
    """Earliest chunk whose frames reach into chunk k's unfinished range (to replay on resume)."""
    low = plan.final_before(k - 1) if k else 0
    j = k
    while j > 0 and plan[j - 1][1] > low:
        j -= 1
    return j


def segment_path(work: Path, g: int, codec: str, timed: bool = False) -> Path:
    """Segment g's file (an .mkv; .nut, which keeps exact timestamps, for timed input, see
    video.timing) or, for PNG output, its folder of frames."""
    return work / f"seg_{g:05d}{'' if codec == 'png' else ('.nut' if timed else '.mkv')}"


def finished_segments(work: Path, count: int) -> set[int]:
    """The segments of ``count`` that are finished (one listing of the folder: cheap to call per chunk)."""
    try:
        names = set(os.listdir(work))
    except OSError:
        return set()
    return {g for g in range(count) if {f"seg_{g:05d}", f"seg_{g:05d}.mkv", f"seg_{g:05d}.nut"} & names}


@dataclass
class WorkState:
    """The work folder's job.json: the fingerprint, and the chunk and tiles the run actually used."""

    fingerprint: dict
    chunk: int
    tiles: list[list[int]]  # [first chunk, tile] pairs: an out-of-memory retry's smaller tile sticks

    def tile_at(self, k: int) -> int:
        return next(tile for first, tile in reversed(self.tiles) if first <= k)

    def reduce(self, k: int, tile: int) -> None:
        self.tiles = [entry for entry in self.tiles if entry[0] < k] + [[k, tile]]

    def save(self, work: Path) -> None:
        tmp = work / f"job.json.{os.getpid()}.tmp"  # one per process: ranks may save at once
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "chunk": self.chunk, "tiles": self.tiles}))
        os.replace(tmp, work / "job.json")


def read_state(work: Path) -> WorkState:
    """The work folder's job.json; OSError, ValueError, KeyError or TypeError where it is missing or bad."""
    saved = json.loads((work / "job.json").read_text())
    return WorkState(saved["fingerprint"], int(saved["chunk"]), [list(e) for e in saved["tiles"]])


def open_work(
    work: Path, fingerprint: dict, chunk: int, tile: int, warn: Callable[[str], None]
) -> tuple[WorkState, bool]:
    """The work state to continue (with the sizes it recorded) and True, or a fresh one and False.

    Work from other settings is discarded, with one warning saying which settings changed."""
    if (work / "job.json").is_file():
        try:
            state = read_state(work)
            keys = fingerprint.keys() | state.fingerprint.keys()
            changed = sorted(k for k in keys if fingerprint.get(k) != state.fingerprint.get(k))
            if not changed:
                return state, True
            why = f"{', '.join(changed)} changed"
        except (OSError, ValueError, KeyError, TypeError):
            why = "its job.json is unreadable or from another version"
        warn(f"{work}: previous work discarded ({why})")
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    state = WorkState(fingerprint, chunk, [[0, tile]])
    state.save(work)
    return state, False


def join_png_segments(segments: list[Path], output: Path, overwrite: bool, extra: dict[str, str] | None = None) -> None:
    """PNG output: every segment's frames linked into one folder, published by a rename.

    Links (not moves) keep the segments whole, so a kill before the rename loses nothing.
    ``extra`` text files (name: text, e.g. the timestamps of VFR input) go in with the frames."""
    tmp = output.parent / f".{output.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for seg in segments:
        for png in sorted(seg.iterdir()):
            try:
                os.link(png, tmp / png.name)
            except OSError:  # a filesystem without hard links
                shutil.copy2(png, tmp / png.name)
    for name, text in (extra or {}).items():
        (tmp / name).write_text(text)
    if output.exists() and overwrite:
        shutil.rmtree(output)
    os.replace(tmp, output)


# ---------------------------------------------------------------------------------------------- claims
STALE_SECONDS = 3600  # a claim from another host untouched this long is stale (its holder touches it every minute)
TOUCH_SECONDS = 60.0
EMPTY_CLAIM_SECONDS = 60  # a claim file still empty this long: its process died between create and write


def claim_path(work: Path, g: int) -> Path:
    return work / f"seg_{g:05d}.claim"


def _process_start(pid: int) -> str:
    """When process ``pid`` started, in the kernel's clock ticks since boot ("" where unknown): tells a
    reused pid from the process that made a claim."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class Owner:
    """The process holding a claim."""

    host: str
    pid: int
    start: str

    @classmethod
    def me(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), _process_start(os.getpid()))

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


def read_claim(path: Path) -> Owner | None:
    """The claim's owner; None when the file is gone or holds no owner (yet)."""
    try:
        data = json.loads(path.read_text())
        return Owner(str(data["host"]), int(data["pid"]), str(data["start"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


_HELD_HERE: set[Path] = set()  # every claim this process holds, whichever job (Claims) holds it


def claim_is_stale(path: Path, owner: Owner | None, me: Owner) -> bool:
    """True when nobody is working on the claimed segment any more (see the module's docstring)."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return True  # gone meanwhile
    if owner is None:
        return age > EMPTY_CLAIM_SECONDS
    if owner.host != me.host:
        return age > STALE_SECONDS
    if (owner.pid, owner.start) == (me.pid, me.start):
        return path not in _HELD_HERE  # left by an earlier job of this process (one that failed, say)
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return bool(owner.start) and _process_start(owner.pid) not in ("", owner.start)


class Claims:
    """The segments this process claims in a work folder; a thread touches them every minute, which
    tells processes on other hosts that they are still being worked on."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.me = Owner.me()
        self.held: set[Path] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, g: int) -> bool:
        """Claim segment g: True when this process now holds it (a stale claim is broken first)."""
        path = claim_path(self.work, g)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break_if_stale(path):
                    return False
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"host": self.me.host, "pid": self.me.pid, "start": self.me.start}, f)
            self.held.add(path)
            _HELD_HERE.add(path)
            self._start_touching()
            return True
        return False

    def holder(self, g: int) -> Owner | None:
        return read_claim(claim_path(self.work, g))

    def release(self, g: int) -> None:
        path = claim_path(self.work, g)
        if path in self.held:
            self.held.discard(path)
            _HELD_HERE.discard(path)
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Release every claim still held (a cancelled or failed job) and stop touching."""
        for path in list(self.held):
            _HELD_HERE.discard(path)
            path.unlink(missing_ok=True)
        self.held.clear()
        self._stop.set()

    def _break_if_stale(self, path: Path) -> bool:
        """Remove a stale claim; True when the path is free now. One breaker at a time (flock), so a
        claim just taken by another process is never removed as the stale one it replaced."""
        with _locked(self.work / "claims.lock"):
            if not claim_is_stale(path, read_claim(path), self.me):
                return False
            path.unlink(missing_ok=True)
            return True

    def _start_touching(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._touch, name="claims", daemon=True)
            self._thread.start()

    def _touch(self) -> None:
        while not self._stop.wait(TOUCH_SECONDS):
            for path in list(self.held):
                with contextlib.suppress(OSError):
                    os.utime(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock on ``path`` (released by the kernel if the process dies)."""
    with open(path, "a") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------------------------------------- sharing
class Share:
    """How this process takes part in a job: alone (this class) or as one of several ranks
    (vrt_engine.distributed.RankShare). It opens the work state, hands out the segments to compute,
    and says whether this process writes the output."""

    muxes = True  # waits for every segment, then writes the output
    label = ""  # how this process's log lines name it ("rank 1")

    def open(
        self, work: Path, fingerprint: dict, chunk: int, tile: int, warn: Callable[[str], None]
    ) -> tuple[WorkState, bool]:
        return open_work(work, fingerprint, chunk, tile, warn)

    def order(self, count: int) -> list[int]:
        """The segments to try, in the order to try them."""
        return list(range(count))

    def segments(
        self, work: Path, count: int, log: Callable[[str], None], nap: Callable[[float], None]
    ) -> Iterator[int]:
        """Each segment this process is to compute, claimed while the caller computes it (released when
        the caller asks for the next). Unfinished segments of :meth:`order` that nobody holds; then, for
        a process that writes the output, the ones others hold, waited for with ``nap(seconds)`` (which
        may raise to stop) and taken over if their claim goes stale."""
        claims = Claims(work)
        done: list[int] = []
        try:
            for g in self.order(count):
                if _take_unfinished(claims, work, count, g):
                    yield g
                    done.append(g)
                    claims.release(g)
            waiting: set[int] = set()
            while self.muxes and (missing := sorted(set(range(count)) - finished_segments(work, count))):
                for g in missing:
                    if _take_unfinished(claims, work, count, g):
                        yield g
                        done.append(g)
                        claims.release(g)
                    elif g not in waiting:
                        waiting.add(g)
                        holder = claims.holder(g)
                        log(f"waiting for segment {g} ({holder.describe() if holder else 'claimed'} is writing it)")
                nap(1.0)
            if self.label:
                log(f"{self.label}: segments {', '.join(map(str, done)) or 'none'}")
        finally:
            claims.close()


def _take_unfinished(claims: Claims, work: Path, count: int, g: int) -> bool:
    """Claim g unless it is finished; checked again once held, since it may have been published in between."""
    if g in finished_segments(work, count) or not claims.take(g):
        return False
    if g in finished_segments(work, count):
        claims.release(g)
        return False
    return True
