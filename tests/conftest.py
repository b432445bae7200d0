"""Shared fixtures: a micro VRT checkpoint (every part present, seconds to run) and generated clips."""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_v", "3")
# compiled graphs of test runs go to a fresh folder, never the user's cache (model workers inherit it)
os.environ["VRT_CACHE_DIR"] = tempfile.mkdtemp(prefix="vrt-test-graph-cache-")

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
    from clips import make_test_clip

    folder = tmp_path_factory.mktemp("clips")
    return make_test_clip(folder / "small.mp4", 64, 48, 16, fps=Fraction(25), audio=True, subtitles=True)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Clips of many kinds for the video tests (made once: they are only read)."""
    from clips import NTSC, make_test_clip

    d = tmp_path_factory.mktemp("clips")
    return {
        "mp4_ntsc": make_test_clip(d / "ntsc.mp4", 32, 18, 30, fps=NTSC, subtitles=2, chapters=True),
        "mp4_25": make_test_clip(d / "pal.mp4", 32, 18, 27, fps=Fraction(25), subtitles=1),
        "mkv_ntsc": make_test_clip(d / "ntsc.mkv", 32, 18, 31, fps=NTSC, audio=2, subtitles=1),
        "mkv_25": make_test_clip(d / "pal.mkv", 32, 18, 29, fps=Fraction(25), subtitles=2, chapters=True),
        "hevc": make_test_clip(d / "hevc.mp4", 32, 18, 23, codec="h265", audio=False),
        "ten": make_test_clip(d / "ten.mkv", 32, 18, 12, codec="h265", pix_fmt="yuv420p10le", audio=False),
        "odd": make_test_clip(d / "odd.mkv", 33, 17, 9, codec="ffv1", pix_fmt="rgb24", audio=False),
        "odd444": make_test_clip(d / "odd.mp4", 33, 17, 9, pix_fmt="yuv444p", audio=False),
        "gray": make_test_clip(d / "gray.mkv", 32, 18, 6, codec="ffv1", pix_fmt="gray", audio=False),
        "rgba": make_test_clip(d / "rgba.mkv", 32, 18, 6, codec="ffv1", pix_fmt="rgba", audio=False),
        "pngs": make_test_clip(d / "pngs", 32, 18, 12, pix_fmt="rgb24"),
        "png_rgba": make_test_clip(d / "png_rgba", 32, 18, 3, pix_fmt="rgba"),
        "png_gray16": make_test_clip(d / "png_gray16", 32, 18, 3, pix_fmt="gray16be"),
        "rotated": make_test_clip(d / "rot.mp4", 32, 18, 20, rotation=90, sar=Fraction(4, 3),
                                  audio_offset=-0.2),
        "long": make_test_clip(d / "long.mp4", 64, 36, 120, audio=False),
    }
