"""When a GPU is present but MindSpore cannot use it, --list-devices, the app's discovery and 'auto' say so.

The GPU's presence is an nvidia-smi on PATH (a real executable made here); MindSpore runs with
LD_LIBRARY_PATH pointing at an empty folder, so no CUDA library can be found (this machine has none).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gpu_machine_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "nvidia-smi"
    tool.write_text("#!/bin/sh\necho 'NVIDIA-SMI 550.54  Driver Version: 550.54'\n")
    tool.chmod(0o755)
    libs = tmp_path / "no-cuda"
    libs.mkdir()
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", LD_LIBRARY_PATH=str(libs))
    env["PYTHONPATH"] = str(ROOT)
    return env


def _list_devices(env: dict) -> list[str]:
    """The lines `vrt-upscale --list-devices` prints in this environment."""
    return subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "upscale", "--list-devices"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.splitlines()


def test_list_devices_names_an_unusable_gpu_in_one_line_with_what_to_install(tmp_path):
    out = _list_devices(_gpu_machine_env(tmp_path))
    assert out[0] == "cpu"
    gpu_lines = [line for line in out if line.startswith("GPU found but MindSpore cannot use it")]
    assert len(gpu_lines) == 1, out
    assert "install CUDA 11.6 with cuDNN 8" in gpu_lines[0] and str(tmp_path / "no-cuda") in gpu_lines[0], out


def test_list_devices_without_a_gpu_lists_the_cpu_alone(tmp_path):
    out = _list_devices(dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out == ["cpu"]


def test_auto_falls_back_to_the_cpu_with_a_visible_notice_and_app_discovery_warns(tmp_path):
    code = (
        "from vrt_engine.runner import Runner\n"
        "from app.worker import discover_capabilities\n"
        "r = Runner('tiny', 'auto')\n"
        "print('DEVICE', r.device_name)\n"
        "for n in r.pop_notices(): print('NOTICE', n)\n"
        "discover_capabilities(lambda m: print('WARN', m))\n"
    )
    env = _gpu_machine_env(tmp_path) | {"QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path
    ).stdout.splitlines()
    assert "DEVICE cpu" in out
    assert any(line.startswith("NOTICE device auto: running on the CPU (slow) because") for line in out), out
    assert any(line.startswith("WARN GPU found but MindSpore cannot use it") for line in out), out
