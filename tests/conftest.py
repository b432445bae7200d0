"""Shared fixtures: a micro VRT checkpoint (every part present, seconds to run) and generated clips."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_v", "3")

MICRO_ARCH = dict(
    upscale=4, img_size=[4, 64, 64], window_size=[2, 8, 8], depths=[2] * 7 + [2, 2], indep_reconsts=[8],
    embed_dims=[8] * 7 + [12, 12], num_heads=[2] * 9, pa_frames=2, deformable_groups=2, num_feat=8,
    spynet_skip_levels=2,
)


@pytest.fixture(scope="session", autouse=True)
def _cpu_as_the_engine_sets_it() -> None:
    """In-process MindSpore runs on the CPU as vrt_engine.devices.activate sets it (blocking eager launch),
    whichever test touches it first."""
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"))


@pytest.fixture(scope="session")
def micro_ckpt(tmp_path_factory) -> Path:
    """A randomly initialised micro VRT saved as one of our checkpoints."""
    from vrt_engine.model import build_model, config_from, config_to_dict
    from vrt_engine.weights import save_checkpoint

    path = tmp_path_factory.mktemp("models") / "micro.ckpt"
    cfg = config_from(MICRO_ARCH)
    save_checkpoint(build_model(cfg), path, config_to_dict(cfg))
    return path


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory) -> Path:
    """64x48, 16 frames at 25 fps with one audio and one subtitle stream."""
    from vrt_engine.video import make_test_clip

    folder = tmp_path_factory.mktemp("clips")
    return make_test_clip(folder / "small.mp4", 64, 48, 16, fps=Fraction(25), audio=True, subtitles=True)
