"""LMDB frame stores in the layout BasicSR and KAIR write and read.

A store is a folder ``NAME.lmdb`` holding ``data.mdb``/``lock.mdb`` and ``meta_info.txt``. Keys are the
frame paths without extension (``000/00000000``); values are PNG bytes (cv2.imencode, compression
level 1 by default); each meta_info line is ``000/00000000.png (720,1280,3) 1`` (name, shape,
compression level). Ours are written that way so stores move between the three code bases.
"""

from __future__ import annotations

import os
import shutil
import signal
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


def _ignore_sigint() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group; the parent alone handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(dst: Path) -> list[Path]:
    """Delete ``.NAME.lmdb.partial-PID`` folders left by killed runs (PID gone); returns what was removed."""
    removed = []
    for tmp in dst.parent.glob(f".{dst.name}.partial-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if tmp.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def estimate_map_size(first_shape: tuple[int, int, int], count: int) -> int:
    """LMDB map size from raw frame bytes (h*w*c per frame, as BasicSR sizes it) with headroom.

    Why raw bytes: a PNG is never much larger than the raw pixels, while the first frame's PNG size can
    badly underestimate a tree whose later frames compress worse. The map is virtual (unused space costs
    no disk); the writer still doubles it when the values pass half of it.
    """
    h, w, c = first_shape
    return max(int(h * w * c * count * 2.5) + (64 << 20), 1 << 24)


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
    first_shape = encode_file((str(src / f"{keys[0]}.png"), compress_level))[1]
    map_size = estimate_map_size(first_shape, len(keys))
    dst.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(dst)
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    tmp.mkdir()
    pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, initializer=_ignore_sigint)
    try:
        env = lmdb.open(str(tmp), map_size=map_size)
        lines = []
        jobs = [(str(src / f"{k}.png"), compress_level) for k in keys]
        txn = env.begin(write=True)
        written = 0
        for i, (key, (data, (h, w, c))) in enumerate(zip(keys, pool.map(encode_file, jobs, chunksize=8))):
            if written + len(data) > map_size // 2:  # keep room for B-tree pages: commit, then grow the map
                txn.commit()
                while written + len(data) > map_size // 2:
                    map_size *= 2
                env.set_mapsize(map_size)
                txn = env.begin(write=True)
            txn.put(key.encode("ascii"), data)
            written += len(data) + 4096  # a value takes whole 4 KiB pages
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
        # Ctrl-C or an error: drop queued frames instead of encoding them all before stopping.
        pool.shutdown(wait=False, cancel_futures=True)
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

