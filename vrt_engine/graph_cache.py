"""A persistent cache of compiled model graphs, so a second start skips most of the compilation.

MindSpore can save a compiled graph and load it in a later process (MS_COMPILER_CACHE_ENABLE with
MS_COMPILER_CACHE_PATH), but it does not key what it saves by input shape: it names files by the
order of compilation in the process (compile_cache_0.mindir, ...) and reads the folder once, at the
first compile of a process. A process that compiled another shape first would load the wrong graph
and fail ("For 'Reshape', the size of input_x ..."). So here:

* one folder (an *entry*) per graph key: model file digest, model code digest, MindSpore version,
  device, precision, threads and input shape;
* each process caches only its first graph (the worker pool starts one process per shape, so each
  shape gets its own); later compiles in the same process run uncached;
* an entry is filled in a private temp folder and renamed into place once its first call succeeded
  (two processes filling the same entry at once: one rename wins, the other's copy is dropped);
* a manifest of file sizes and digests is checked before an entry is used; one that does not match,
  or fails to load, is removed and rebuilt with one log line, never a failed job;
* a folder that cannot be written, or a disk nearly full, means "uncached", with one log line;
* the cache is capped in size, oldest-used entries go first.

Where: $VRT_CACHE_DIR, else $XDG_CACHE_HOME/vrt-upscaler, else ~/.cache/vrt-upscaler. Set
VRT_GRAPH_CACHE=0 to turn it off and VRT_CACHE_MAX_GB to change the cap (10 GB by default). These are
environment variables so spawned model workers see the same choice as the process that started them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ENV_DIR = "VRT_CACHE_DIR"
ENV_SWITCH = "VRT_GRAPH_CACHE"  # "0": no graph cache
ENV_MAX_GB = "VRT_CACHE_MAX_GB"
ENV_MIN_FREE_MB = "VRT_CACHE_MIN_FREE_MB"  # below this much free space nothing new is cached
DEFAULT_MAX_BYTES = 10 << 30
DEFAULT_MIN_FREE_BYTES = 2 << 30
GRAPHS = "graphs"
TEMP = "tmp"
MANIFEST = "manifest.json"
KEY_FILE = "key.json"
MS_FOLDER = "ms"
FORMAT = 1  # bump when the layout of an entry changes
ANCHOR = "anchor.py"
ANCHOR_TEXT = "# The file MindSpore's compile cache hashes as its entry script (vrt_engine.graph_cache).\n"

_process_cache_used = False  # MindSpore reads its cache folder once per process: only the first graph caches
_digests: dict[tuple[str, int, int], str] = {}


def cache_root() -> Path:
    """The user's cache folder for this application (XDG rules, $VRT_CACHE_DIR first)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vrt-upscaler"


def enabled() -> bool:
    """Whether compiled graphs are cached (VRT_GRAPH_CACHE=0 turns it off)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "no", "off", "false")


def max_bytes() -> int:
    """The size cap of the cache (VRT_CACHE_MAX_GB, default 10 GB)."""
    try:
        return int(float(os.environ[ENV_MAX_GB]) * (1 << 30))
    except (KeyError, ValueError):
        return DEFAULT_MAX_BYTES


def configure(folder: str | os.PathLike[str] | None = None, on: bool | None = None) -> None:
    """Set the cache folder and switch for this process and the workers it starts (the CLI options)."""
    if folder is not None:
        os.environ[ENV_DIR] = os.fspath(folder)
    if on is not None:
        os.environ[ENV_SWITCH] = "1" if on else "0"


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) within the process."""
    p = Path(path).resolve()
    st = p.stat()
    memo = (str(p), st.st_size, st.st_mtime_ns)
    if memo not in _digests:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _digests[memo] = h.hexdigest()
    return _digests[memo]


@functools.cache
def code_digest() -> str:
    """Digest of the network's source files: a changed model definition must not load an old graph.

    (In a frozen bundle without sources, the digest of what is there: the bundle's version decides.)"""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    from . import __version__

    h.update(__version__.encode())
    for path in sorted([*(here / "model").glob("*.py"), here / "graph_cache.py"]):
        if not path.is_file():
            continue
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def graph_key(
    model_file: str | os.PathLike[str], device: str, precision: str, shape: tuple[int, ...], threads: int
) -> dict:
    """Everything that decides a compiled graph, as a JSON-able mapping."""
    import mindspore

    return {
        "format": FORMAT,
        "model": file_digest(model_file),
        "code": code_digest(),
        "mindspore": mindspore.__version__,
        "device": device,
        "precision": precision,
        "threads": int(threads),
        "shape": [int(v) for v in shape],
    }


def key_name(key: dict) -> str:
    """The entry's folder name: a digest of its key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _manifest_of(folder: Path) -> dict[str, list]:
    files = {}
    for p in sorted((folder / MS_FOLDER).rglob("*")):
        if p.is_file():
            files[str(p.relative_to(folder))] = [p.stat().st_size, file_digest(p)]
    return files


def _remove(folder: Path) -> None:
    """Remove an entry safely against readers: rename it away first, then delete."""
    trash = folder.parent.parent / TEMP / f"drop-{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        trash.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(trash)
    except OSError:
        trash = folder
    shutil.rmtree(trash, ignore_errors=True)


@dataclass
class GraphSlot:
    """The cache's part in one process's first compile of one graph.

    ``open()`` gives MindSpore's cache folder (or None: uncached); after the first call succeeded,
    ``commit()`` publishes a new entry; ``discard()`` drops an entry that failed to load.
    ``notices`` collects the one-line messages for the user.
    """

    key: dict
    root: Path = field(default_factory=cache_root)
    state: str = "off"  # off | hit | miss
    notices: list[str] = field(default_factory=list)
    _temp: Path | None = None

    @property
    def folder(self) -> Path:
        return self.root / GRAPHS / key_name(self.key)

    def open(self) -> str | None:
        """Point MindSpore at the entry (hit) or a fresh temp folder (miss); None when uncached."""
        global _process_cache_used
        if not enabled() or _process_cache_used:
            return None
        _process_cache_used = True
        try:
            if self._valid():
                self.state = "hit"
                os.utime(self.folder / KEY_FILE)  # last use, for oldest-first eviction
                return self._use(self.folder / MS_FOLDER)
            if self.folder.exists():
                self.notices.append(f"graph cache: entry {self.folder} is damaged; removed, compiling again")
                _remove(self.folder)
            free = shutil.disk_usage(self._existing_parent()).free
            if free < _min_free_bytes():
                self.notices.append(
                    f"graph cache: {self.root} has only {free >> 20} MB free; compiling without the cache"
                )
                return None
            self._temp = self.root / TEMP / f"{key_name(self.key)}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            (self._temp / MS_FOLDER).mkdir(parents=True)
            self.state = "miss"
            return self._use(self._temp / MS_FOLDER)
        except OSError as exc:
            self.notices.append(f"graph cache: cannot use {self.root} ({exc.strerror or exc}); compiling without it")
            self.state = "off"
            return None

    def _existing_parent(self) -> Path:
        p = self.root
        while not p.exists() and p != p.parent:
            p = p.parent
        return p

    def _valid(self) -> bool:
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text())
            stored = json.loads((self.folder / KEY_FILE).read_text())
            return stored == self.key and bool(manifest) and manifest == _manifest_of(self.folder)
        except (OSError, ValueError):
            return False

    def _use(self, path: Path) -> str:
        import mindspore as ms
        from mindspore.graph import api

        # MindSpore checks a saved graph against a hash of the entry script (sys.argv[0]) and the files
        # it imports; ours differ between vrt-upscale, the app, the model workers and a frozen bundle
        # (where the entry is a binary it cannot parse). Our key already says what decides the graph,
        # so it hashes one fixed file instead.
        anchor = self.root / ANCHOR
        if not anchor.is_file():
            anchor.write_text(ANCHOR_TEXT)
        api.entry_script_path = str(anchor)
        os.environ["MS_COMPILER_CACHE_ENABLE"] = "1"
        os.environ["MS_COMPILER_CACHE_PATH"] = str(path)
        ms.set_context(enable_compile_cache=True)
        return str(path)

    def close_for_process(self) -> None:
        """Later compiles in this process run uncached (they would be saved under the wrong name)."""
        import mindspore as ms

        if os.environ.get("MS_COMPILER_CACHE_ENABLE") == "1":
            os.environ["MS_COMPILER_CACHE_ENABLE"] = "0"
            ms.set_context(enable_compile_cache=False)

    def commit(self) -> None:
        """After the first call succeeded: publish a new entry (atomic rename), then keep the cap."""
        self.close_for_process()
        if self.state != "miss" or self._temp is None:
            return
        temp, self._temp = self._temp, None
        try:
            if not any(p.is_file() for p in (temp / MS_FOLDER).rglob("*")):
                raise OSError("MindSpore saved nothing")
            (temp / KEY_FILE).write_text(json.dumps(self.key, sort_keys=True))
            (temp / MANIFEST).write_text(json.dumps(_manifest_of(temp)))
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            try:
                temp.rename(self.folder)
            except OSError:
                if not self.folder.exists():
                    raise
                shutil.rmtree(temp, ignore_errors=True)  # another process published the same graph first
            evict(self.root, max_bytes(), keep=self.folder)
        except OSError as exc:
            shutil.rmtree(temp, ignore_errors=True)
            self.notices.append(f"graph cache: could not save the compiled graph ({exc}); compiling again next start")

    def discard(self, exc: BaseException) -> None:
        """The cached graph failed: remove the entry so the next start rebuilds it, and say so once."""
        self.close_for_process()
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        if self.state == "hit":
            _remove(self.folder)
            self.notices.append(f"graph cache: cached graph failed to load ({why}); removed, compiling again")
        elif self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None
        self.state = "off"


def _min_free_bytes() -> int:
    try:
        return int(float(os.environ[ENV_MIN_FREE_MB]) * (1 << 20))
    except (KeyError, ValueError):
        return DEFAULT_MIN_FREE_BYTES


def entries(root: Path | None = None) -> list[Path]:
    """Published entries, oldest use first."""
    folder = (root or cache_root()) / GRAPHS
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if (p / KEY_FILE).is_file()]

    def last_use(p: Path) -> float:
        try:
            return (p / KEY_FILE).stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=last_use)


def evict(root: Path, limit: int, keep: Path | None = None) -> list[Path]:
    """Remove oldest-used entries until the cache is within ``limit`` bytes; returns what went."""
    gone = []
    listed = entries(root)
    sizes = {p: _folder_bytes(p) for p in listed}
    total = sum(sizes.values())
    for entry in listed:
        if total <= limit:
            break
        if entry == keep:
            continue
        _remove(entry)
        total -= sizes[entry]
        gone.append(entry)
    _clean_temp(root)
    return gone


def _clean_temp(root: Path, older_than_s: float = 24 * 3600) -> None:
    """Temp folders left by killed processes (a day old: a running compile is never that slow)."""
    temp = root / TEMP
    if not temp.is_dir():
        return
    now = time.time()
    for p in temp.iterdir():
        try:
            if now - p.stat().st_mtime > older_than_s or p.name.startswith("drop-"):
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def clear(root: Path | None = None) -> int:
    """Remove every cached graph, timing and estimated plan (``vrt-upscale --clear-cache``); returns bytes freed."""
    root = root or cache_root()
    freed = 0
    for name in (GRAPHS, TEMP, "timings", "plans"):
        folder = root / name
        if folder.is_dir():
            freed += _folder_bytes(folder)
            shutil.rmtree(folder, ignore_errors=True)
    return freed


def size_bytes(root: Path | None = None) -> int:
    """What the cached graphs take on disk."""
    return sum(_folder_bytes(p) for p in entries(root))


def first_call(slot: GraphSlot | None, forward, rebuild, run):
    """A process's first call of a compiled graph, through the cache: returns (output, forward to keep).

    ``run(forward)`` makes the call; ``rebuild()`` gives a fresh forward (a new network, so MindSpore
    compiles anew) for when a cached graph fails to load. Failures on a miss are the caller's (out of
    memory, graph mode not working): the temp folder is dropped and the exception goes on.
    """
    if slot is None or slot.open() is None:
        return run(forward), forward
    try:
        out = run(forward)
    except Exception as exc:
        hit = slot.state == "hit"
        slot.discard(exc)
        if not hit:
            raise
        forward = rebuild()
        return run(forward), forward
    slot.commit()
    return out, forward
