"""The shipped Quickstart clip: small, 24 fps, with sound that lasts exactly as long as the picture."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from vrt_engine.video import ffmpeg_exe, probe

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "assets" / "sample"
SAMPLE = SAMPLE_DIR / "sample.mp4"


def test_sample_probes_as_documented() -> None:
    info = probe(SAMPLE, exact=True)
    assert (info.width, info.height) == (256, 144)
    assert info.fps == Fraction(24)
    assert info.frame_count == 64
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.audio_streams == 1
    assert not info.is_vfr
    assert SAMPLE.stat().st_size < 1_000_000


def test_sample_audio_lasts_as_long_as_the_video() -> None:
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(SAMPLE), "-map", "0:a:0", "-f", "s16le",
                          "-ac", "1", "-ar", "48000", "-"], check=True, capture_output=True).stdout
    seconds = len(pcm) / 2 / 48000
    assert seconds == pytest.approx(64 / 24, abs=1e-3)


def test_generator_rebuilds_the_shipped_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed clip is exactly what make_sample.py makes (pinned ffmpeg, deterministic writer)."""
    spec = importlib.util.spec_from_file_location("make_sample", SAMPLE_DIR / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_sample", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    rebuilt = module.make_sample(tmp_path / "sample.mp4")
    assert rebuilt.read_bytes() == SAMPLE.read_bytes(), "rerun assets/sample/make_sample.py and commit the clip"
