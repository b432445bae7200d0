"""The REDS folder layout, its clip partitions and meta-info lines (numpy/cv2 only).

REDS ships ``train_sharp/000..239`` and ``val_sharp/000..029`` (and ``*_bicubic/X4`` twins) of PNG
frames named ``00000000.png``. KAIR and BasicSR train on the train and val clips regrouped into one
folder (val clip i becomes 240 + i) and hold out a partition for validation: REDS4 (000, 011, 015,
020) or "official" (240..269).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REDS4 = ("000", "011", "015", "020")
OFFICIAL_VAL = tuple(f"{i:03d}" for i in range(240, 270))
FRAME_RE = re.compile(r"^\d{8}\.png$")
CLIP_RE = re.compile(r"^\d{3}$")


@dataclass(frozen=True)
class ClipInfo:
    """One clip: its name, frame count, first frame number and frame shape (H, W, C)."""

    name: str
    num_frames: int
    start: int
    shape: tuple[int, int, int]

    def meta_line(self) -> str:
        """The clip as KAIR writes it in meta_info_REDS_GT.txt: ``000 100 (720,1280,3) 00000000``."""
        h, w, c = self.shape
        return f"{self.name} {self.num_frames} ({h},{w},{c}) {self.start:08d}"


def val_partition(name: str | Sequence[str]) -> tuple[str, ...]:
    """Clip names held out for validation: 'REDS4', 'official', 'none' or an explicit list."""
    if isinstance(name, str):
        table = {"REDS4": REDS4, "official": OFFICIAL_VAL, "none": ()}
        if name not in table:
            raise ValueError(f"val_partition: expected REDS4, official, none or a list of clips, got '{name}'")
        return table[name]
    return tuple(str(v) for v in name)


def frame_name(index: int) -> str:
    """REDS frame file stem: 8 digits."""
    return f"{index:08d}"


def clip_frames(folder: Path) -> list[int]:
    """Sorted frame numbers of the PNGs in one clip folder."""
    return sorted(int(p.name[:8]) for p in folder.iterdir() if FRAME_RE.match(p.name))


def scan_clips(root: str | Path) -> list[ClipInfo]:
    """Every clip folder (3-digit name) under ``root`` with its frames; ValueError if there are none."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: no such folder")
    clips = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and CLIP_RE.match(p.name)):
        frames = clip_frames(folder)
        if not frames:
            continue
        img = cv2.imread(str(folder / f"{frame_name(frames[0])}.png"), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(f"{folder / frame_name(frames[0])}.png: not a readable PNG")
        shape = (img.shape[0], img.shape[1], 1 if img.ndim == 2 else img.shape[2])
        if frames != list(range(frames[0], frames[0] + len(frames))):
            gap = min(set(range(frames[0], frames[-1])) - set(frames))
            raise ValueError(f"{folder / frame_name(gap)}.png: missing (frames {frames[0]}..{frames[-1]} "
                             "must be consecutive)")
        clips.append(ClipInfo(folder.name, len(frames), frames[0], shape))
    if not clips:
        raise ValueError(f"{root}: no clip folders of 00000000.png frames (REDS layout)")
    return clips


def parse_meta_line(line: str) -> ClipInfo:
    """A clip from a meta_info line; accepts KAIR's 4 fields and BasicSR's 3 (start 0)."""
    parts = line.split()
    if len(parts) not in (3, 4):
        raise ValueError(f"meta info line '{line.strip()}': expected 'clip frames (h,w,c) [start]'")
    h, w, c = (int(v) for v in parts[2].strip("()").split(","))
    start = int(parts[3]) if len(parts) == 4 else 0
    return ClipInfo(parts[0], int(parts[1]), start, (h, w, c))


def read_png_rgb(path: Path) -> np.ndarray:
    """An (H, W, 3) uint8 RGB frame; ValueError naming the file if it cannot be read."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: missing or not a readable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_png_rgb(path: Path, rgb: np.ndarray, compression: int = 1) -> None:
    """Write an (H, W, 3) uint8 RGB frame as PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, compression]):
        raise ValueError(f"{path}: cannot write PNG")
