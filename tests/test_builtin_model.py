"""The shipped built-in model: found by name, the tiny architecture, and better than bicubic on a held-out clip."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mindspore")

from vrt_engine.model import preset_of  # noqa: E402
from vrt_engine.models_dir import BUILTIN_MODEL, assets_dir, resolve_model  # noqa: E402
from vrt_engine.weights import read_checkpoint  # noqa: E402


def test_builtin_model_ships_in_assets_as_the_tiny_preset() -> None:
    path = resolve_model(BUILTIN_MODEL)
    assert path == assets_dir() / "models" / "tiny.ckpt"
    assert path.stat().st_size < 8_000_000  # weights only: no optimiser state in what ships
    arch, arrays = read_checkpoint(path)
    assert preset_of(arch) == "tiny"
    assert not any(k.startswith(("opt_", "rng/")) for k in arrays)


def test_builtin_model_beats_bicubic_on_a_held_out_photograph(tmp_path) -> None:
    """A held-out photograph (never trained on) through the synthetic camera, MATLAB bicubic x1/4, 4 frames."""
    from trainer.data.reds import read_png_rgb
    from trainer.data.synthetic import SyntheticSpec, make_synthetic
    from vrt_engine import tiling
    from vrt_engine.metrics import psnr
    from vrt_engine.runner import Runner, RunnerSettings, bicubic_upscale, to_float, to_integer

    make_synthetic(tmp_path, SyntheticSpec(clips=1, frames=4, width=256, height=256, holdout=("coffee",), seed=7))
    gt = np.stack([read_png_rgb(p) for p in sorted((tmp_path / "val_sharp" / "000").glob("*.png"))])
    lq = np.stack([read_png_rgb(p) for p in sorted((tmp_path / "val_sharp_bicubic" / "X4" / "000").glob("*.png"))])
    runner = Runner(BUILTIN_MODEL, "cpu", RunnerSettings(graph=False))
    out = to_integer(runner.upscale(np.stack([to_float(f) for f in lq]), 0, tiling.ChunkPlan(4, 4, 0)))
    model_psnr = np.mean([psnr(o, g) for o, g in zip(out, gt)])
    bicubic_psnr = np.mean([psnr(bicubic_upscale(f), g) for f, g in zip(lq, gt)])
    assert model_psnr > bicubic_psnr + 0.3, (model_psnr, bicubic_psnr)
