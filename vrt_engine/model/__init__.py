"""The VRT network in MindSpore (see vrt.py) and its named presets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .forms import ACCELERATOR_FORM, CPU_FORM, current_form, set_form
from .presets import PRESETS, config_from, config_to_dict, preset_of
from .vrt import VRT, VRTConfig


def build_model(preset_or_mapping: str | Mapping[str, Any] | VRTConfig, form: str | None = None) -> VRT:
    """A freshly initialised VRT in inference mode from a preset name, a mapping or a VRTConfig.

    `form` is "cpu" or "accelerator" (forms.py); by default the one for the device MindSpore is set to.
    """
    cfg = preset_or_mapping if isinstance(preset_or_mapping, VRTConfig) else config_from(preset_or_mapping)
    model = VRT(cfg)
    set_form(model, form or current_form())
    model.set_train(False)
    return model


__all__ = [
    "ACCELERATOR_FORM",
    "CPU_FORM",
    "PRESETS",
    "VRT",
    "VRTConfig",
    "build_model",
    "config_from",
    "config_to_dict",
    "preset_of",
    "set_form",
]
