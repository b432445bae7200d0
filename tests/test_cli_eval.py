"""vrt-eval's --cache-dir / --no-cache mean what they mean in vrt-upscale (real processes, real graphs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from vrt_engine import graph_cache

ROOT = Path(__file__).resolve().parent.parent


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    """REDS-style LQ and GT folders: one clip of 4 frames, 32x32 and its x4."""
    rng = np.random.default_rng(1)
    lq, gt = tmp_path / "lq" / "000", tmp_path / "gt" / "000"
    lq.mkdir(parents=True)
    gt.mkdir(parents=True)
    for i in range(4):
        frame = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        cv2.imwrite(str(lq / f"{i:08d}.png"), frame)
        cv2.imwrite(str(gt / f"{i:08d}.png"), cv2.resize(frame, (128, 128), interpolation=cv2.INTER_CUBIC))
    return lq.parent, gt.parent


def _eval(micro_ckpt: Path, lq: Path, gt: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "vrt_engine.cli", "eval", str(lq), str(gt), "--model", str(micro_ckpt)]
    cmd += ["--chunk", "4", "--tile", "0", "--device", "cpu", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT), VRT_CACHE_DIR=os.environ["VRT_CACHE_DIR"])
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_eval_fills_the_cache_folder_given_and_none_with_no_cache(micro_ckpt, tmp_path):
    lq, gt = _folders(tmp_path)
    used = _eval(micro_ckpt, lq, gt, "--cache-dir", str(tmp_path / "cache"))
    assert used.returncode == 0, used.stderr
    assert "average" in used.stdout
    assert graph_cache.entries(tmp_path / "cache")  # the compiled graph went where --cache-dir said

    off = _eval(micro_ckpt, lq, gt, "--cache-dir", str(tmp_path / "off"), "--no-cache")
    assert off.returncode == 0, off.stderr
    assert not graph_cache.entries(tmp_path / "off")
    assert off.stdout.splitlines()[-1] == used.stdout.splitlines()[-1]  # the same scores either way
