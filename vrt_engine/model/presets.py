"""Named hyper-parameter sets.

reds_6f and reds_16f are the released REDS x4 models (VRT main_test_vrt.py tasks 001 and 002);
tiny is a small VRT with every part present, sized for CPUs (the built-in model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .vrt import VRTConfig

PRESETS: dict[str, dict[str, Any]] = {
    # VRT main_test_vrt.py, task 001_VRT_videosr_bi_REDS_6frames
    "reds_6f": dict(
        upscale=4,
        img_size=(6, 64, 64),
        window_size=(6, 8, 8),
        depths=(8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4),
        indep_reconsts=(11, 12),
        embed_dims=(120, 120, 120, 120, 120, 120, 120, 180, 180, 180, 180, 180, 180),
        num_heads=(6,) * 13,
        pa_frames=2,
        deformable_groups=12,
    ),
    # VRT main_test_vrt.py, task 002_VRT_videosr_bi_REDS_16frames
    "reds_16f": dict(
        upscale=4,
        img_size=(16, 64, 64),
        window_size=(8, 8, 8),
        depths=(8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4),
        indep_reconsts=(11, 12),
        embed_dims=(120, 120, 120, 120, 120, 120, 120, 180, 180, 180, 180, 180, 180),
        num_heads=(6,) * 13,
        pa_frames=6,
        deformable_groups=24,
    ),
    # Ours: every part of VRT at a CPU-friendly size. SpyNet stops two pyramid levels early (flow at 1/4 size,
    # resized up), which removes most of its cost; everything else is the reference design, narrower.
    "tiny": dict(
        upscale=4,
        img_size=(6, 64, 64),
        window_size=(2, 8, 8),
        depths=(2, 2, 2, 2, 2, 2, 2, 2, 2),
        indep_reconsts=(8,),
        embed_dims=(16, 16, 16, 16, 16, 16, 16, 24, 24),
        num_heads=(2,) * 9,
        pa_frames=2,
        deformable_groups=2,
        num_feat=16,
        drop_path_rate=0.0,
        spynet_skip_levels=2,
    ),
}

# Architecture arguments a mapping may carry (the reference constructor's names, plus ours).
ARCH_KEYS = {f.name for f in fields(VRTConfig) if f.name != "extra"}
TUPLE_KEYS = {"img_size", "window_size", "depths", "indep_reconsts", "embed_dims", "num_heads"}


def config_from(preset_or_mapping: str | Mapping[str, Any]) -> VRTConfig:
    """A VRTConfig from a preset name or a mapping of constructor arguments (unknown keys are errors)."""
    if isinstance(preset_or_mapping, str):
        if preset_or_mapping not in PRESETS:
            raise ValueError(f"unknown model preset '{preset_or_mapping}' (known: {', '.join(sorted(PRESETS))})")
        values: Mapping[str, Any] = PRESETS[preset_or_mapping]
    else:
        values = preset_or_mapping
    unknown = sorted(set(values) - ARCH_KEYS)
    if unknown:
        raise ValueError(f"unknown architecture key(s): {', '.join(unknown)}")
    clean = {k: (tuple(v) if k in TUPLE_KEYS else v) for k, v in values.items()}
    cfg = VRTConfig(**clean)
    cfg.validate()
    return cfg


def config_to_dict(cfg: VRTConfig) -> dict[str, Any]:
    """Plain (JSON/YAML-safe) form of a config, stored inside our checkpoints."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items() if k != "extra"}


def preset_of(arch: Mapping[str, Any]) -> str | None:
    """The preset whose architecture this plain mapping is exactly (e.g. read from a checkpoint), if any."""
    return next((name for name in PRESETS if config_to_dict(config_from(name)) == dict(arch)), None)
