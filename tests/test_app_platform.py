"""The app's start on a system whose Qt platform plugin cannot load: one line, non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux")


def _start_app(**env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    full["PYTHONPATH"] = str(ROOT)
    full.update(env)
    return subprocess.run([sys.executable, "-m", "app"], env=full, capture_output=True, text=True,
                          timeout=60, cwd=ROOT, check=False)


def test_unknown_platform_plugin_is_one_line_naming_it() -> None:
    result = _start_app(QT_QPA_PLATFORM="nosuchplatform")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "nosuchplatform" in lines[0] and "offscreen" in lines[0]
    assert result.stdout == ""


def test_xcb_without_display_or_libraries_is_one_line() -> None:
    """Here either xcb's system libraries are missing (named with their packages) or DISPLAY is unset."""
    result = _start_app(QT_QPA_PLATFORM="xcb")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "'xcb'" in line
    if "missing system libraries" in line:
        assert "apt install" in line and "dnf install" in line
    else:
        assert "DISPLAY is not set" in line


def test_missing_xcb_library_names_debian_and_fedora_packages() -> None:
    """Every library the loader cannot find for xcb is named in the line, with its packages."""
    from app.platform_check import _missing_libraries, _plugin_dirs

    plugin = next(d / "libqxcb.so" for d in _plugin_dirs() if (d / "libqxcb.so").is_file())
    missing = _missing_libraries(plugin, "xcb")
    result = _start_app(QT_QPA_PLATFORM="xcb")
    for lib in missing:
        assert lib in result.stderr
    if "libxcb-icccm.so.4" in missing:
        assert "libxcb-icccm4" in result.stderr and "xcb-util-wm" in result.stderr


def test_a_fallback_list_starts_when_one_of_its_plugins_can(monkeypatch) -> None:
    """QT_QPA_PLATFORM may list fallbacks; the check refuses only when none of them can start."""
    from app.platform_check import platform_problem

    monkeypatch.setenv("QT_QPA_PLATFORM", "nosuchplatform;offscreen")
    assert platform_problem(["vrt-upscaler"]) is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "nosuchplatform;alsonot")
    problem = platform_problem(["vrt-upscaler"])
    assert problem is not None and "nosuchplatform" in problem and "alsonot" in problem
    assert platform_problem(["vrt-upscaler", "-platform", "offscreen"]) is None
