"""LMDB frame stores in the layout BasicSR and KAIR write and read.

A store is a folder ``NAME.lmdb`` holding ``data.mdb``/``lock.mdb`` and ``meta_info.txt``. Keys are the
frame paths without extension (``000/00000000``); values are PNG bytes (cv2.imencode, compression
level 1 by default); each meta_info line is ``000/00000000.png (720,1280,3) 1`` (name, shape,
compression level). Ours are written that way so stores move between the three code bases.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import lmdb
import numpy as np

META = "meta_info.txt"
COMMIT_EVERY = 5000


def png_keys(src: Path) -> list[str]:
    """Keys of every PNG below ``src`` (recursive, sorted), as BasicSR's prepare_keys_reds makes them."""
    return sorted(str(p.relative_to(src).with_suffix("")).replace(os.sep, "/") for p in src.rglob("*.png"))


def encode_file(args: tuple[str, int]) -> tuple[bytes, tuple[int, int, int]]:
    """Read one image file and re-encode it as PNG at the given level (a worker's job)."""
    path, level = args
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{path}: not a readable image")
    h, w = img.shape[:2]
    c = 1 if img.ndim == 2 else img.shape[2]
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise ValueError(f"{path}: cannot encode as PNG")
    return buf.tobytes(), (h, w, c)


def _progress(done: int, total: int, stream=sys.stderr) -> None:
    width = 30
    filled = width * done // max(total, 1)
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} frames")
    if done == total:
        stream.write("\n")
    stream.flush()


def write_lmdb(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    workers: int = 0,
    compress_level: int = 1,
    progress: bool = True,
) -> int:
    """PNG folder tree ``src`` -> LMDB ``dst`` (must end in .lmdb); returns the number of frames.

    Frames are encoded by ``workers`` processes and written in key order into ``dst``'s sibling temp
    folder, which is renamed to ``dst`` only when complete: an interrupted run leaves no half store.
    """
    src, dst = Path(src), Path(dst)
    if dst.suffix != ".lmdb":
        raise ValueError(f"{dst}: an LMDB folder name must end with .lmdb (BasicSR/KAIR convention)")
    if dst.exists():
        raise ValueError(f"{dst}: already exists")
    if not src.is_dir():
        raise ValueError(f"{src}: no such folder")
    keys = png_keys(src)
    if not keys:
        raise ValueError(f"{src}: no PNG files found")
    first, _ = encode_file((str(src / f"{keys[0]}.png"), compress_level))
    map_size = max(len(first) * len(keys) * 10, 1 << 24)  # BasicSR's estimate: 10x the first frame
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        env = lmdb.open(str(tmp), map_size=map_size)
        lines = []
        jobs = [(str(src / f"{k}.png"), compress_level) for k in keys]
        txn = env.begin(write=True)
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            for i, (key, (data, (h, w, c))) in enumerate(zip(keys, pool.map(encode_file, jobs, chunksize=8))):
                txn.put(key.encode("ascii"), data)
                lines.append(f"{key}.png ({h},{w},{c}) {compress_level}\n")
                if (i + 1) % COMMIT_EVERY == 0:
                    txn.commit()
                    txn = env.begin(write=True)
                if progress:
                    _progress(i + 1, len(keys))
        txn.commit()
        env.close()
        (tmp / META).write_text("".join(lines))
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return len(keys)


def read_meta(store: str | os.PathLike[str]) -> list[tuple[str, tuple[int, int, int]]]:
    """(key, shape) of every frame listed in a store's meta_info.txt."""
    path = Path(store) / META
    if not path.is_file():
        raise ValueError(f"{store}: not an LMDB frame store (no {META})")
    out = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        name, shape = line.split()[:2]
        h, w, c = (int(v) for v in shape.strip("()").split(","))
        out.append((name.rsplit(".", 1)[0], (h, w, c)))
    return out


class LmdbFrames:
    """Read-only access to one store's PNG bytes and decoded RGB frames; opens lazily, per process."""

    def __init__(self, store: str | os.PathLike[str]):
        self.path = Path(store)
        if not (self.path / "data.mdb").is_file():
            raise ValueError(f"{self.path}: not an LMDB store (no data.mdb)")
        self._env: lmdb.Environment | None = None
        self._pid = -1

    def _txn_env(self) -> lmdb.Environment:
        if self._env is None or self._pid != os.getpid():  # an LMDB handle must not cross a fork
            self._env = lmdb.open(str(self.path), readonly=True, lock=False, readahead=False, meminit=False)
            self._pid = os.getpid()
        return self._env

    def get_bytes(self, key: str) -> bytes:
        with self._txn_env().begin(write=False) as txn:
            value = txn.get(key.encode("ascii"))
        if value is None:
            raise ValueError(f"{self.path}: no frame '{key}'")
        return bytes(value)

    def get_rgb(self, key: str) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(self.get_bytes(key), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{self.path}: frame '{key}' is not a decodable image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def keys(self) -> Iterator[str]:
        with self._txn_env().begin(write=False) as txn:
            for key in txn.cursor().iternext(values=False):
                yield bytes(key).decode("ascii")

    def __getstate__(self) -> dict:
        return {"path": self.path, "_env": None, "_pid": -1}

