"""Helpers for the trainer tests: a generated mini-REDS and a micro-VRT recipe that trains in seconds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# Every part of VRT at the smallest size that runs: 4x4 windows keep LQ 40 valid at the 1/8 scale
# (SpyNet needs LQ above 32).
MICRO_ARCH = dict(
    upscale=4, img_size=[2, 64, 64], window_size=[2, 4, 4], depths=[1] * 9, indep_reconsts=[8],
    embed_dims=[8] * 9, num_heads=[1] * 9, pa_frames=2, deformable_groups=1, num_feat=8, drop_path_rate=0.0,
)


def make_mini_reds(dst: Path, clips: int = 2, frames: int = 3, size: str = "160x160") -> Path:
    """make-synthetic then prepare-reds, through the real command line."""
    run_cli("make-synthetic", str(dst), "--clips", str(clips), "--frames", str(frames), "--size", size, check=True)
    run_cli("prepare-reds", str(dst), check=True)
    return dst


def micro_recipe(path: Path, data: Path, out: Path, arch: dict | None = None, **train) -> Path:
    """A recipe for the micro VRT on a mini-REDS; ``arch`` overrides MICRO_ARCH keys, keywords train.*."""
    raw = {
        "name": "micro",
        "output": str(out),
        "model": {"preset": None, "arch": {**MICRO_ARCH, **(arch or {})}},
        "data": {
            "train": {"dataroot_gt": str(data / "train_sharp"), "dataroot_lq": str(data / "train_sharp_bicubic/X4"),
                      "val_partition": "official", "num_frame": 2, "gt_size": 160, "batch_size": 1,
                      "num_workers": 1, "use_hflip": False, "use_rot": False},
            "val": {"dataroot_gt": str(data / "val_sharp"), "dataroot_lq": str(data / "val_sharp_bicubic/X4"),
                    "max_frames": 2},
        },
        "train": {"iterations": 3, "lr": 1.0e-3, "periods": 3, "fix_iter": 3, "fix_lr_mul": 0.125,
                  "fix_keys": ["spynet", "deform"], "graph": False, "device": "cpu", **train},
        "val": {"every": 1000, "size_patch_testing": 0},
        "checkpoint": {"every": 1, "keep": 2},
        "log": {"every": 1},
    }
    path.write_text(yaml.safe_dump(raw))
    return path


def env() -> dict:
    e = dict(os.environ, GLOG_v="3", PYTHONUNBUFFERED="1")
    e["PATH"] = f"{VENV_BIN}{os.pathsep}{e.get('PATH', '')}"
    return e


def run_cli(*args: str, check: bool = False, cwd: Path | None = None, timeout: int = 600):
    """Run `vrt-trainer ARGS` as a subprocess; returns the CompletedProcess."""
    proc = subprocess.run([str(VENV_BIN / "vrt-trainer"), *args], capture_output=True, text=True, env=env(),
                          cwd=cwd or ROOT, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"vrt-trainer {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
