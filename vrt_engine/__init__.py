"""vrt_engine: VRT x4 video super-resolution in MindSpore, with streaming video I/O and tiling.

Heavy imports (MindSpore) happen inside the functions that need them, so video, tiling and metrics
stay importable and testable without touching the framework.
"""

from __future__ import annotations

import os

# MindSpore logs warnings (and some errors about absent backends) at import and first use; users see
# our one-line messages instead. Set GLOG_v yourself to see MindSpore's own logs.
os.environ.setdefault("GLOG_v", "3")

from collections.abc import Mapping
from typing import Any

__version__ = "0.1.0"


def build_model(preset_or_mapping: str | Mapping[str, Any]) -> Any:
    """A freshly initialised VRT (mindspore.nn.Cell, inference mode) from a preset name or a mapping."""
    from .model import build_model as _build

    return _build(preset_or_mapping)


def load_model(path_or_preset: str | os.PathLike[str]) -> Any:
    """A VRT with weights, from a model name (`tiny`, `reds_6f`, `reds_16f`, resolved in the user's model
    folder or the built-in assets), a checkpoint of ours (architecture inside), or an authors' .pth
    (architecture recognised among the presets by its tensor shapes)."""
    from .models_dir import resolve_model
    from .weights import load_checkpoint_model, load_pth_model

    path = resolve_model(path_or_preset)
    if path.suffix == ".pth":
        return load_pth_model(path)[0]
    return load_checkpoint_model(path)


__all__ = ["__version__", "build_model", "load_model"]
