"""Weights: our MindSpore checkpoints (which carry their architecture) and import of the authors' .pth.

A .pth is read without torch (vrt_engine.torchfile); every tensor is mapped by name onto our model,
every shape checked, and the result written atomically as a MindSpore checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .torchfile import TorchFileError, read_state_dict

ARCH_KEY = "vrt_arch"
PROVENANCE_KEY = "vrt_provenance"  # free text: where the weights came from
# Buffers the reference keeps in its state_dict; ours are recomputed, so they are checked, not loaded.
DERIVED_BUFFERS = ("relative_position_index", "position_bias", "spynet.mean", "spynet.std")


class WeightsError(Exception):
    """A weights file that cannot be used; the message is one line naming the file."""


def _is_derived(key: str) -> bool:
    return any(key.endswith(name) for name in DERIVED_BUFFERS)


def map_torch_state(model_params: Mapping[str, tuple[int, ...]], state: Mapping[str, np.ndarray]) -> dict:
    """Map reference state_dict keys to our parameter names; raise ValueError listing every mismatch.

    Our names equal the reference's, except LayerNorm's weight/bias, which MindSpore calls gamma/beta.
    """
    mapped: dict[str, np.ndarray] = {}
    unexpected, misshaped = [], []
    for key, value in state.items():
        if _is_derived(key):
            continue
        name = key
        if name not in model_params:
            head, _, leaf = key.rpartition(".")
            alias = {"weight": "gamma", "bias": "beta"}.get(leaf)
            if alias and f"{head}.{alias}" in model_params:
                name = f"{head}.{alias}"
        if name not in model_params:
            unexpected.append(key)
            continue
        if tuple(value.shape) != tuple(model_params[name]):
            misshaped.append(f"{key} {tuple(value.shape)} != {tuple(model_params[name])}")
            continue
        mapped[name] = value
    missing = sorted(set(model_params) - set(mapped) - {_torch_name_of(n) for n in misshaped})
    if missing or unexpected or misshaped:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
        if unexpected:
            parts.append(
                f"unexpected {len(unexpected)}: {', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}"
            )
        if misshaped:
            parts.append(f"mis-shaped {len(misshaped)}: {'; '.join(misshaped[:8])}")
        raise ValueError("does not fit the architecture: " + " | ".join(parts))
    return mapped


def _torch_name_of(entry: str) -> str:
    return entry.split(" ", 1)[0]


def parameter_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """Names and shapes of a MindSpore Cell's parameters."""
    return {name: tuple(p.shape) for name, p in model.parameters_and_names()}


def load_arrays(model: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Copy numpy arrays into the model's parameters by name (names and shapes already checked)."""
    import mindspore as ms

    params = dict(model.parameters_and_names())
    for name, value in arrays.items():
        params[name].set_data(ms.Tensor(np.ascontiguousarray(value, dtype=np.float32)))


def read_pth(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The tensors of a reference .pth file, as numpy arrays; WeightsError on an unreadable file."""
    try:
        return read_state_dict(path)
    except TorchFileError as exc:
        raise WeightsError(str(exc)) from None


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # MindSpore appends ".ckpt" to names that lack it, so the temporary name keeps the suffix.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix or '.ckpt'}", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def save_checkpoint(
    model: Any, path: str | os.PathLike[str], arch: Mapping[str, Any], extra: dict | None = None
) -> None:
    """Write a MindSpore checkpoint with the architecture inside; the file appears only when complete."""
    import mindspore as ms

    path = Path(path)
    tmp = _atomic_target(path)
    try:
        append = {ARCH_KEY: json.dumps(dict(arch))}
        append.update(extra or {})
        ms.save_checkpoint(model, str(tmp), append_dict=append)
        os.chmod(tmp, 0o644)  # MindSpore writes checkpoints owner-read-only
        os.replace(tmp, path)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot write checkpoint ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(architecture mapping, parameter arrays) of one of our checkpoints."""
    import mindspore as ms

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such model file")
    try:
        raw = ms.load_checkpoint(str(path))
    except Exception as exc:  # MindSpore raises ValueError/RuntimeError with long texts
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path}: not a readable MindSpore checkpoint ({first[:120]})") from None
    if ARCH_KEY not in raw:
        raise WeightsError(f"{path}: checkpoint has no architecture ('{ARCH_KEY}'); convert it with vrt-convert")
    arch = json.loads(str(raw.pop(ARCH_KEY)))
    raw.pop(PROVENANCE_KEY, None)
    arrays = {k: v.asnumpy() for k, v in raw.items() if hasattr(v, "asnumpy")}
    return arch, arrays


def convert_pth(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], arch: str | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Import an authors' .pth into a checkpoint of ours; returns the architecture used."""
    model, arch_dict = load_pth_model(src, arch)
    save_checkpoint(model, dst, arch_dict)
    return arch_dict


def export_checkpoint(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], note: str = "", expect_preset: str | None = None
) -> dict[str, Any]:
    """Write the model of one of our checkpoints (a training one included) as a plain model file.

    Why: a training checkpoint also holds optimiser moments, RNG state and the recipe (three times the
    size); what ships or is shared needs only the architecture and the weights. `note` says where the
    weights came from (kept in the file as text, e.g. the recipe and iteration). With `expect_preset`,
    a checkpoint of another architecture is refused before anything is written.
    """
    from .model import config_to_dict, preset_of

    model = load_checkpoint_model(src)
    arch = config_to_dict(model.cfg)
    if expect_preset is not None and preset_of(arch) != expect_preset:
        raise WeightsError(f"{src}: its architecture is not the preset '{expect_preset}'")
    save_checkpoint(model, dst, arch, extra={PROVENANCE_KEY: note} if note else None)
    return arch


def load_checkpoint_model(path: str | os.PathLike[str]) -> Any:
    """Build the architecture stored in one of our checkpoints and load its weights."""
    from .model import build_model

    arch, arrays = read_checkpoint(path)
    try:
        model = build_model(arch)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: bad architecture in checkpoint ({exc})") from None
    expected = parameter_shapes(model)
    bad = sorted(k for k in expected if k not in arrays or tuple(arrays[k].shape) != expected[k])
    if bad:
        raise WeightsError(f"{path}: weights do not match the stored architecture ({', '.join(bad[:5])})")
    load_arrays(model, {k: arrays[k] for k in expected})
    return model


def load_pth_model(path: str | os.PathLike[str], arch: str | Mapping[str, Any] | None = None) -> tuple[Any, dict]:
    """A model from an authors' .pth: with the given architecture, or the preset whose shapes fit."""
    from .model import PRESETS, build_model, config_from, config_to_dict

    state = read_pth(path)
    candidates = [arch] if arch is not None else list(PRESETS)
    errors = []
    for candidate in candidates:
        cfg = config_from(candidate)
        model = build_model(cfg)
        try:
            mapped = map_torch_state(parameter_shapes(model), state)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        load_arrays(model, mapped)
        return model, config_to_dict(cfg)
    if arch is not None:
        raise WeightsError(f"{path}: {errors[0]}")
    raise WeightsError(f"{path}: matches none of the presets ({', '.join(PRESETS)}); give --arch FILE.yaml")
