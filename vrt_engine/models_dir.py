"""Where models live: the built-in model in assets/, and the user's model folder for imported weights.

A model is named (`tiny`, `reds_6f`, `reds_16f`) or given as a file. Named models resolve to
`<user model folder>/<name>.ckpt` first, then to the built-in assets.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .weights import WeightsError

BUILTIN_MODEL = "tiny"
# Where the authors publish their weights, and which file each preset expects.
AUTHORS_FILES = {
    "reds_6f": "001_VRT_videosr_bi_REDS_6frames.pth",
    "reds_16f": "002_VRT_videosr_bi_REDS_16frames.pth",
}
AUTHORS_RELEASES = "https://github.com/JingyunLiang/VRT/releases (tag v0.0)"


def assets_dir() -> Path:
    """The project's assets folder (next to the packages, or inside a PyInstaller bundle)."""
    override = os.environ.get("VRT_ASSETS")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parent.parent / "assets"


def user_models_dir() -> Path:
    """Per-user folder for imported weights ($VRT_MODELS_DIR, else $XDG_DATA_HOME/vrt-upscaler/models)."""
    override = os.environ.get("VRT_MODELS_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vrt-upscaler" / "models"


def named_model_path(name: str) -> Path | None:
    """The checkpoint for a model name, or None if it has no weights here."""
    for folder in (user_models_dir(), assets_dir() / "models"):
        candidate = folder / f"{name}.ckpt"
        if candidate.is_file():
            return candidate
    return None


def available_models() -> list[str]:
    """Model names that can be used now: the built-in one and any imported presets."""
    names = []
    for name in (BUILTIN_MODEL, *AUTHORS_FILES):
        if named_model_path(name) is not None:
            names.append(name)
    return names


def resolve_model(model: str | os.PathLike[str]) -> Path:
    """A checkpoint path for a model name or file; WeightsError (one line) saying what to do otherwise."""
    text = str(model)
    if text in AUTHORS_FILES or text == BUILTIN_MODEL:
        path = named_model_path(text)
        if path is not None:
            return path
        if text == BUILTIN_MODEL:
            raise WeightsError(f"built-in model '{text}' is missing from {assets_dir() / 'models'}; reinstall")
        raise WeightsError(
            f"model '{text}' has no weights yet: download {AUTHORS_FILES[text]} from {AUTHORS_RELEASES} and "
            f"import it once with: vrt-convert {AUTHORS_FILES[text]} --preset {text} --install"
        )
    path = Path(text)
    if not path.exists():
        raise WeightsError(f"{path}: no such model file")
    return path
