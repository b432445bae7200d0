"""The work folder beside an output (``.NAME.vrt-work``): what makes a job resumable.

Layout (see docs/architecture.md):

    job.json        the fingerprint of the settings that decide the output's bytes, and the chunk and
                    tile sizes the run actually used (an out-of-memory retry's smaller tile sticks)
    seg_00000.mkv   finished segments, one per group of consecutive chunks (a folder of PNGs for png)
    seg_00001.mkv   ...

A segment is written under a temporary name and renamed when complete, so a segment file that
exists is whole. Segment boundaries depend only on the plan, so a rerun of the same settings finds
the same segments and continues after the last one that exists.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import tiling


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


def segment_exists(work: Path, g: int) -> bool:
    name = f"seg_{g:05d}"
    return (work / f"{name}.mkv").is_file() or (work / f"{name}.nut").is_file() or (work / name).is_dir()


def finished_prefix(work: Path, groups: int) -> int:
    """How many segments from the first on are finished (resume continues after them)."""
    done = 0
    while done < groups and segment_exists(work, done):
        done += 1
    return done


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
        tmp = work / "job.json.tmp"
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "chunk": self.chunk, "tiles": self.tiles}))
        os.replace(tmp, work / "job.json")


def open_work(
    work: Path, fingerprint: dict, chunk: int, tile: int, warn: Callable[[str], None]
) -> tuple[WorkState, bool]:
    """The work state to continue (with the sizes it recorded) and True, or a fresh one and False.

    Work from other settings is discarded, with one warning saying which settings changed."""
    meta = work / "job.json"
    if meta.is_file():
        try:
            saved = json.loads(meta.read_text())
            state = WorkState(saved["fingerprint"], int(saved["chunk"]), [list(e) for e in saved["tiles"]])
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
