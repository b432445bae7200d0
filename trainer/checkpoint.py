"""Training checkpoints: weights, optimiser state, iteration, RNG states and config in one file.

Written with vrt_engine.weights.save_checkpoint (temp file + rename, so a kill -9 never leaves a half
file under the final name), named ``iter_00001234.ckpt`` in the run's ``checkpoints/`` folder, the
last ``keep`` kept. The model's parameters keep their own names, so a training checkpoint is also a
model file that vrt-upscale and vrt_engine.load_model accept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

STATE_KEY = "trainer_state"
RNG_KEY = "rng/mindspore"
DROP_PATH_RNG_KEY = "rng/drop_path"  # vrt_engine DropPath.generator: the drop path masks
NAME_RE = re.compile(r"^iter_(\d{8})\.ckpt$")
OPTIMIZER_PREFIXES = ("opt_main/", "opt_fixed/", "amp/")  # training state, not model weights
# A resumed run replays the global sample stream from position iteration x batch: these decide it.
MUST_MATCH = ("data.train.batch_size", "train.seed")
NOT_COMPARED = ("name", "output")


@dataclass
class Resumed:
    iteration: int
    state: dict
    model: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray]
    rng: np.ndarray | None  # MindSpore's default generator
    drop_path_rng: np.ndarray | None  # DropPath.generator (None in checkpoints saved before it existed)
    path: Path


def checkpoint_path(folder: Path, iteration: int) -> Path:
    return folder / f"iter_{iteration:08d}.ckpt"


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in a folder, oldest first (temp files start with a dot and are skipped)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NAME_RE.match(p.name))


def save(folder: Path, iteration: int, model, arch: dict, optimizer_state: list[tuple[str, Any]], state: dict,
         keep: int) -> Path:
    """Write one checkpoint atomically and prune old ones; returns its path."""
    import mindspore as ms

    from vrt_engine.model.layers import DropPath
    from vrt_engine.weights import save_checkpoint

    entries = [{"name": name, "data": p} for name, p in model.parameters_and_names()]
    entries += [{"name": name, "data": p} for name, p in optimizer_state]
    entries.append({"name": RNG_KEY, "data": ms.get_rng_state()})
    entries.append({"name": DROP_PATH_RNG_KEY, "data": DropPath.generator.get_state()})
    path = checkpoint_path(folder, iteration)
    save_checkpoint(entries, path, arch, extra={STATE_KEY: json.dumps(state)})
    for old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load(path: str | Path) -> Resumed:
    """Read a training checkpoint; ValueError naming the file when it is not one."""
    import mindspore as ms

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint")
    try:
        raw = ms.load_checkpoint(str(path))
    except Exception as exc:  # MindSpore raises several types with long texts
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{path}: not a readable checkpoint ({first[:120]})") from None
    if STATE_KEY not in raw:
        raise ValueError(f"{path}: not a training checkpoint (no {STATE_KEY})")
    state = json.loads(str(raw.pop(STATE_KEY)))
    arrays = {k: v.asnumpy() for k, v in raw.items() if hasattr(v, "asnumpy")}
    rng = arrays.pop(RNG_KEY, None)
    drop_path_rng = arrays.pop(DROP_PATH_RNG_KEY, None)
    optimizer = {k: v for k, v in arrays.items() if k.startswith(OPTIMIZER_PREFIXES)}
    model = {k: v for k, v in arrays.items() if k not in optimizer}
    return Resumed(int(state["iteration"]), state, model, optimizer, rng, drop_path_rng, path)


def find_resume(run_dir: Path, resume: str | None) -> Path | None:
    """The checkpoint to resume from: None, 'auto' (newest in the run, if any) or a path."""
    if not resume:
        return None
    if resume == "auto":
        found = list_checkpoints(run_dir / "checkpoints")
        return found[-1] if found else None
    return Path(resume)


def _flat(mapping: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in mapping.items():
        full = f"{prefix}{key}"
        out.update(_flat(value, f"{full}.") if isinstance(value, dict) and key != "arch" else {full: value})
    return out


def compare_configs(saved: dict, current: dict) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any]]]:
    """(differences that forbid resuming, other differences) between a checkpoint's config and this run's.

    Each difference is (key, saved value, current value). An empty saved config compares as equal.
    """
    if not saved:
        return [], []
    old, new = _flat(saved), _flat(current)
    diff = [(k, old.get(k), new.get(k)) for k in sorted(set(old) & set(new))
            if old[k] != new[k] and k not in NOT_COMPARED]
    return [d for d in diff if d[0] in MUST_MATCH], [d for d in diff if d[0] not in MUST_MATCH]


def restore_optimizer(optimizer_state: list[tuple[str, Any]], arrays: dict[str, np.ndarray], path: Path) -> None:
    """Copy saved optimiser tensors into the live optimisers (names and shapes must match)."""
    import mindspore as ms

    missing = [n for n, p in optimizer_state if n not in arrays or arrays[n].shape != tuple(p.shape)]
    if missing:
        raise ValueError(f"{path}: optimiser state does not match this recipe ({', '.join(missing[:3])})")
    for name, p in optimizer_state:
        p.set_data(ms.Tensor(arrays[name], p.dtype))
