"""vrt-upscale and vrt-eval as a user runs them: exit codes, one-line errors, outputs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from clips import make_test_clip, stream_span
from fsutil import tmpfs

from vrt_engine import video

LONG_CLIP_ARGS = ["--model", "bicubic", "--preset", "ultrafast"]


def _upscale(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "upscale", *map(str, args)], capture_output=True, text=True, **kw
    )


def test_upscale_folder_queue_and_output_dir(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name in ("a", "b"):
        make_test_clip(inbox / f"{name}.mp4", 32, 24, 6, audio=False)
    (inbox / "readme.txt").write_text("not a video")
    out = tmp_path / "out"
    out.mkdir()
    result = _upscale(inbox, "--model", "bicubic", "--output-dir", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_x4.mp4", "b_x4.mp4"]
    assert video.probe(out / "a_x4.mp4").width == 128


def test_failed_item_does_not_stop_the_queue(tmp_path):
    good = make_test_clip(tmp_path / "good.mp4", 32, 24, 4, audio=False)
    bad = tmp_path / "bad.mp4"
    bad.write_text("junk")
    result = _upscale(bad, good, "--model", "bicubic")
    assert result.returncode == 1
    assert (tmp_path / "good_x4.mp4").exists()
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "bad.mp4" in errors[0]


def test_preview_frame_writes_side_by_side_png(tmp_path):
    clip = make_test_clip(tmp_path / "c.mp4", 32, 24, 8, audio=False)
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
    clip = make_test_clip(tmp_path / "c.mp4", 32, 24, 4, audio=False)
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

    clip = make_test_clip(tmp_path / "c.mp4", 64, 48, 30, audio=True)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    result = _upscale(clip, "--model", "bicubic", "--codec", "ffv1", preexec_fn=limit)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    # names the output the user asked for (not only a segment in the work folder) and what went wrong
    assert lines[0].startswith(f"vrt-upscale: error: {tmp_path / 'c_x4.mkv'}: "), lines[0]
    assert "encoding failed" in lines[0] and "seg_00000.mkv" in lines[0], lines[0]
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


@contextlib.contextmanager
def _unwritable_folder(path: Path):
    """A folder this process cannot write: a read-only tmpfs as root (root ignores modes), else mode 0555."""
    if os.geteuid() == 0:
        with tmpfs(path, "64k", read_only=True) as folder:
            yield folder
        return
    path.mkdir()
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


def _truncated(d: Path) -> list:
    clip = make_test_clip(d / "whole.mp4", 32, 24, 8, audio=True)
    data = clip.read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) // 2])
    clip.unlink()
    return [d / "cut.mp4"]


def _zero_frames(d: Path) -> list:
    return [make_test_clip(d / "empty.mkv", 32, 24, 0, audio=True)]


def _bad_model(d: Path) -> list:
    (d / "bad.ckpt").write_bytes(b"\x00garbage" * 10)
    return [make_test_clip(d / "c.mp4", 32, 24, 4, audio=False), "--model", d / "bad.ckpt"]


@pytest.mark.parametrize(
    "make, named",
    [(_truncated, "cut.mp4"), (_zero_frames, "empty.mkv"), (_bad_model, "bad.ckpt")],
)
def test_bad_input_is_one_line_and_leaves_everything_as_it_was(tmp_path, make, named):
    args = make(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    result = _upscale(*args, *(["--model", "bicubic"] if "--model" not in args else []))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vrt-upscale: error: "), result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before  # input unchanged, no output, no work folder


def test_unwritable_output_folder_is_one_line(tmp_path):
    clip = make_test_clip(tmp_path / "c.mp4", 32, 24, 4, audio=False)
    before = clip.read_bytes()
    with _unwritable_folder(tmp_path / "locked") as folder:
        result = _upscale(clip, folder / "out.mp4", "--model", "bicubic")
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(folder) in lines[0] and "not writable" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert list(folder.iterdir()) == []
    assert clip.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4", "locked"]


def test_debug_shows_the_traceback_of_a_failed_job(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("junk")
    plain = _upscale(bad, "--model", "bicubic")
    debug = _upscale(bad, "--model", "bicubic", "--debug")
    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr
    assert "Traceback (most recent call last)" in debug.stderr and "VideoError" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()  # the same one-line reason, last


def test_framework_error_in_preview_is_one_line(tmp_path, monkeypatch, capsys):
    """A RuntimeError from the framework (simulated inside the runner: the code under test is the CLI's
    handling of it) must read as one line, with the traceback only under --debug."""
    from vrt_engine.cli_upscale import upscale_main
    from vrt_engine.runner import Runner

    def framework_failure(self, frames, tile, plan=None):
        raise RuntimeError("The pointer[device_address] is null.\n----- C++ Call Stack -----\nfoo.cc:12")

    monkeypatch.setattr(Runner, "upscale_tiled", framework_failure)
    clip = make_test_clip(tmp_path / "c.mp4", 32, 24, 4, audio=False)
    args = [str(clip), "--model", "bicubic", "--preview-frame", "1", "--preview-out", str(tmp_path / "p.png")]
    assert upscale_main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"vrt-upscale: error: {clip}: preview failed: RuntimeError: The pointer"), err
    assert upscale_main([*args, "--debug"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_job_warnings_are_one_plain_line_each(tmp_path):
    clip = make_test_clip(tmp_path / "a.mkv", 32, 24, 4, codec="ffv1", pix_fmt="rgba", audio_codec="pcm_s16le")
    result = _upscale(clip, tmp_path / "out.mp4", "--model", "bicubic")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"vrt-upscale: warning: {clip}: alpha channel"), lines
    assert lines[1].startswith("vrt-upscale: warning: ") and "re-encoding it with aac" in lines[1], lines


@pytest.mark.slow
def test_twenty_minute_clip_keeps_audio_and_video_together(tmp_path):
    """Users of other upscalers report drift on 20-minute videos: a real vrt-upscale run on 20 minutes at
    24000/1001 fps (16x16, AAC) must end video and audio together, at the input's durations."""
    fps = Fraction(24000, 1001)
    frames = int(20 * 60 * fps)
    src = tmp_path / "long.mp4"
    seconds = float(frames / fps)
    generate = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=16x16:rate=24000/1001",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds:.6f}",
        "-frames:v", str(frames), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-b:a", "32k", str(src),
    ]
    subprocess.run(generate, check=True, capture_output=True)
    out = tmp_path / "long_x4.mp4"
    result = _upscale(src, out, *LONG_CLIP_ARGS)
    assert result.returncode == 0, result.stderr
    assert video.probe(out).frame_count == frames
    frame = 1 / float(fps)
    (v0, v1), (a0, a1) = stream_span(out, "0:v:0"), stream_span(out, "0:a:0")
    (sv0, sv1), (sa0, sa1) = stream_span(src, "0:v:0"), stream_span(src, "0:a:0")
    assert v1 - v0 == pytest.approx(sv1 - sv0, abs=frame)  # video as long as the input's
    assert _decoded_audio_seconds(out) == pytest.approx(_decoded_audio_seconds(src), abs=frame)
    assert _decoded_audio_seconds(out) == pytest.approx(v1 - v0, abs=frame)  # audio as long as the video
    assert v1 == pytest.approx(a1, abs=frame)  # and they end together (AAC priming starts before 0)
    assert (v1 - a1, v0 - a0) == pytest.approx((sv1 - sa1, sv0 - sa0), abs=frame)


def _decoded_audio_seconds(path: Path) -> float:
    """Length of the first audio stream as a player plays it (after the container's edit list)."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0"]
    pcm = subprocess.run([*cmd, "-f", "s16le", "-ac", "1", "-ar", "16000", "-"], capture_output=True, check=True)
    return len(pcm.stdout) / 2 / 16000
