"""vrt-upscale and vrt-eval as a user runs them: exit codes, one-line errors, outputs."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from vrt_engine import video


def _upscale(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "upscale", *map(str, args)], capture_output=True, text=True, **kw
    )


def test_upscale_folder_queue_and_output_dir(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in ("a", "b"):
        video.make_test_clip(inbox / f"{name}.mp4", 32, 24, 6, audio=False)
    (inbox / "readme.txt").write_text("not a video")
    out = tmp_path / "out"
    out.mkdir()
    result = _upscale(inbox, "--model", "bicubic", "--output-dir", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_x4.mp4", "b_x4.mp4"]
    assert video.probe(out / "a_x4.mp4").width == 128


def test_failed_item_does_not_stop_the_queue(tmp_path):
    good = video.make_test_clip(tmp_path / "good.mp4", 32, 24, 4, audio=False)
    bad = tmp_path / "bad.mp4"
    bad.write_text("junk")
    result = _upscale(bad, good, "--model", "bicubic")
    assert result.returncode == 1
    assert (tmp_path / "good_x4.mp4").exists()
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "bad.mp4" in errors[0]


def test_preview_frame_writes_side_by_side_png(tmp_path):
    clip = video.make_test_clip(tmp_path / "c.mp4", 32, 24, 8, audio=False)
    png = tmp_path / "cmp.png"
    result = _upscale(clip, "--model", "bicubic", "--preview-frame", "3", "--preview-out", png)
    assert result.returncode == 0, result.stderr
    img = cv2.imread(str(png))
    assert img.shape == (96, 128 * 2 + 4, 3)
    np.testing.assert_array_equal(img[:, :128], img[:, 132:])  # bicubic on both sides here


@pytest.mark.parametrize(
    "args, words",
    [
        (["missing.mp4"], ["missing.mp4", "not found"]),
        (["CLIP", "--model", "reds_6f"], ["reds_6f", "vrt-convert"]),
        (["CLIP", "--model", "nope.ckpt"], ["nope.ckpt", "no such model"]),
        (["CLIP", "--device", "gpu:3", "--model", "bicubic"], ["gpu:3", "not available"]),
        (["CLIP", "--crf", "99", "--model", "bicubic"], ["crf"]),
    ],
)
def test_user_errors_are_one_line_with_nonzero_exit(tmp_path, args, words, monkeypatch):
    clip = video.make_test_clip(tmp_path / "c.mp4", 32, 24, 4, audio=False)
    monkeypatch.setenv("VRT_MODELS_DIR", str(tmp_path / "models"))
    result = _upscale(*[str(clip) if a == "CLIP" else a for a in args], cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1, result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "c_x4.mp4").exists()


def test_file_size_limit_mid_write_fails_cleanly(tmp_path):
    import resource

    clip = video.make_test_clip(tmp_path / "c.mp4", 64, 48, 30, audio=True)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    result = _upscale(clip, "--model", "bicubic", "--codec", "ffv1", preexec_fn=limit)
    assert result.returncode != 0
    assert "c" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "c_x4.mkv").exists()


def test_eval_prints_per_clip_and_average(tmp_path):
    rng = np.random.default_rng(0)
    for clip in ("000", "011"):
        for root in (tmp_path / "lq", tmp_path / "gt"):
            (root / clip).mkdir(parents=True)
        for i in range(3):
            gt = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
            cv2.imwrite(str(tmp_path / "gt" / clip / f"{i:08d}.png"), gt)
            cv2.imwrite(
                str(tmp_path / "lq" / clip / f"{i:08d}.png"), cv2.resize(gt, (16, 16), interpolation=cv2.INTER_AREA)
            )
    result = subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "eval", tmp_path / "lq", tmp_path / "gt", "--model", "bicubic"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["000", "011", "average"]
    assert "PSNR_Y" in lines[-1]
