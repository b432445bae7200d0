"""Where frames come from: PNG folders in the REDS layout or BasicSR/KAIR LMDB stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .lmdb_store import LmdbFrames, read_meta
from .reds import ClipInfo, frame_name, parse_meta_line, read_png_rgb, scan_clips


class FrameSource:
    """RGB uint8 frames of one folder tree or LMDB store, addressed by (clip, frame number)."""

    def __init__(self, root: str | Path, backend: str):
        self.root = Path(root)
        self.backend = backend
        if not self.root.exists():
            raise ValueError(f"{self.root}: dataset not found")
        self._lmdb = LmdbFrames(self.root) if backend == "lmdb" else None

    def frame(self, clip: str, index: int) -> np.ndarray:
        if self._lmdb is not None:
            return self._lmdb.get_rgb(f"{clip}/{frame_name(index)}")
        return read_png_rgb(self.root / clip / f"{frame_name(index)}.png")

    def clips(self) -> list[ClipInfo]:
        """The clips this source holds (from meta_info.txt for a store, from the folders otherwise)."""
        if self._lmdb is None:
            return scan_clips(self.root)
        frames: dict[str, list[int]] = {}
        shapes: dict[str, tuple[int, int, int]] = {}
        for key, shape in read_meta(self.root):
            clip, _, name = key.rpartition("/")
            frames.setdefault(clip, []).append(int(name))
            shapes.setdefault(clip, shape)
        for clip, numbers in frames.items():
            gap = sorted(set(range(min(numbers), max(numbers) + 1)) - set(numbers))
            if gap:
                raise ValueError(f"{self.root}: frame {clip}/{frame_name(gap[0])} missing from the store "
                                 "(frames must be consecutive)")
        return [ClipInfo(c, len(f), min(f), shapes[c]) for c, f in sorted(frames.items())]


def read_clip_list(meta_info_file: str | None, source: FrameSource) -> list[ClipInfo]:
    """Clips from a KAIR/BasicSR meta_info file, or listed by the source itself."""
    if not meta_info_file:
        return source.clips()
    path = Path(meta_info_file)
    if not path.is_file():
        raise ValueError(f"{path}: meta info file not found")
    return [parse_meta_line(line) for line in path.read_text().splitlines() if line.strip()]
