"""vrt_engine.video.writing (FrameWriter, outputs that appear only when complete) against the real ffmpeg."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from clips import (
    NTSC,
    ROOT,
    assert_one_line,
    write_segments,
)
from fsutil import tmpfs

from vrt_engine.video import FrameWriter, VideoError, mux, probe, read_frames


def _frames(n: int, w: int = 32, h: int = 18, deep: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    top = 65535 if deep else 255
    base = np.linspace(0, top, w * h * 3).reshape(h, w, 3)
    return [np.clip(base + rng.normal(0, top / 20, base.shape), 0, top).astype(np.uint16 if deep else np.uint8)
            for _ in range(n)]


@pytest.mark.parametrize(("codec", "suffix"), [("h264", ".mp4"), ("h265", ".mkv"), ("ffv1", ".mkv"),
                                               ("png", "")])
def test_writer_is_deterministic(tmp_path, codec, suffix):
    frames = _frames(8)

    def digest(path: Path) -> str:
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        names = [f.name.encode() if path.is_dir() else b"" for f in files]
        return hashlib.sha256(b"".join(n + f.read_bytes() for n, f in zip(names, files, strict=True))).hexdigest()

    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}{suffix}"
        with FrameWriter(out, 32, 18, NTSC, codec=codec) as w:
            for f in frames:
                w.write(f)
        outs.append(digest(out))
    assert outs[0] == outs[1]
    info = probe(out)
    assert info.frame_count == 8
    if codec != "png":
        assert info.fps == NTSC


def test_png_folder_appears_in_one_rename(tmp_path, monkeypatch):
    """A kill while the writer publishes must not leave a partly filled folder: a job takes an existing
    segment folder for a finished one."""
    target = tmp_path / "seg_00000"
    writer = FrameWriter(target, 32, 18, Fraction(25), codec="png")
    for f in _frames(3):
        writer.write(f)
    real_replace = os.replace

    def killed_at_publish(src, dst):
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(os, "replace", killed_at_publish)
    with pytest.raises(KeyboardInterrupt):
        writer.close()
    assert not target.exists()

    monkeypatch.setattr(os, "replace", real_replace)
    with FrameWriter(target, 32, 18, Fraction(25), codec="png") as w:
        for f in _frames(3):
            w.write(f)
    assert sorted(p.name for p in target.iterdir()) == [f"{i:08d}.png" for i in range(3)]
    assert target.stat().st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("deep", [False, True])
def test_ffv1_and_png_are_lossless(tmp_path, deep):
    frames = _frames(4, 33, 17, deep=deep)
    for codec, name in (("ffv1", "x.mkv"), ("png", "x_png")):
        with FrameWriter(tmp_path / name, 33, 17, Fraction(25), codec=codec, input_bit_depth=16 if deep else 8) as w:
            for f in frames:
                w.write(f)
        back = list(read_frames(tmp_path / name))
        assert all(np.array_equal(a, b) for a, b in zip(frames, back, strict=True)), codec
    assert sorted(p.name for p in (tmp_path / "x_png").iterdir())[:2] == ["00000000.png", "00000001.png"]


def test_writer_ten_bit_and_odd_size(tmp_path):
    frames = _frames(3, 34, 18, deep=True)
    with FrameWriter(tmp_path / "t.mkv", 34, 18, Fraction(25), codec="h265", input_bit_depth=10) as w:
        for f in frames:
            w.write(f)
    info = probe(tmp_path / "t.mkv")
    assert info.pix_fmt == "yuv420p10le" and info.color_matrix == "bt709" and info.color_range == "tv"
    odd = _frames(3, 33, 17)
    with FrameWriter(tmp_path / "o.mp4", 33, 17, Fraction(25), crf=0) as w:
        for f in odd:
            w.write(f)
    back = list(read_frames(tmp_path / "o.mp4"))
    assert probe(tmp_path / "o.mp4").pix_fmt == "yuv444p"
    assert np.abs(back[0].astype(int) - odd[0]).mean() < 1.5


def test_writer_output_appears_only_when_complete(tmp_path):
    out = tmp_path / "out.mp4"
    with FrameWriter(out, 32, 18, Fraction(25)) as w:
        w.write(_frames(1)[0])
        assert not out.exists()
    assert out.is_file()
    # an exception inside the block: nothing is published, no temporary is left
    with pytest.raises(RuntimeError), FrameWriter(tmp_path / "boom.mp4", 32, 18, Fraction(25)) as w:
        w.write(_frames(1)[0])
        raise RuntimeError("stop")
    with pytest.raises(VideoError, match="no frames"), FrameWriter(tmp_path / "empty.mp4", 32, 18, Fraction(25)):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    with pytest.raises(ValueError), FrameWriter(tmp_path / "x.mp4", 32, 18, Fraction(25)) as w:
        w.write(np.zeros((18, 32, 4), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_writer_takes_float_and_other_depths(tmp_path):
    frame = _frames(1)[0]
    with FrameWriter(tmp_path / "f.mkv", 32, 18, Fraction(25), codec="ffv1") as w:
        w.write(frame.astype(np.float32) / 255)
        w.write(frame.astype(np.uint16) * 257)
    with FrameWriter(tmp_path / "d.mkv", 32, 18, Fraction(25), codec="ffv1", input_bit_depth=10) as w:
        w.write(frame)
    assert all(np.array_equal(b, frame) for b in read_frames(tmp_path / "f.mkv"))
    assert np.array_equal(next(iter(read_frames(tmp_path / "d.mkv"))), frame.astype(np.uint16) * 257)


def test_unwritable_output_folder(clips, tmp_path):
    src = probe(clips["mp4_25"])
    missing = tmp_path / "no" / "such" / "out.mp4"
    with pytest.raises(VideoError) as e:
        FrameWriter(missing, 32, 18, Fraction(25))
    assert_one_line(e.value, missing, "does not exist")
    with pytest.raises(VideoError):
        mux([clips["mp4_25"]], src, missing)
    if os.geteuid() == 0:
        cm = tmpfs(tmp_path / "ro", "64k", read_only=True)
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        cm = contextlib.nullcontext(tmp_path / "ro")
    with cm as ro:
        with pytest.raises(VideoError) as e:
            FrameWriter(ro / "out.mp4", 32, 18, Fraction(25))
        assert_one_line(e.value, ro / "out.mp4", "cannot write")
        segs = write_segments(src, tmp_path, 100, scale=False)
        with pytest.raises(VideoError) as e:
            mux(segs, src, ro / "out.mp4")
        assert_one_line(e.value, ro / "out.mp4", "cannot write")
        assert list(ro.iterdir()) == []


def test_disk_full_on_tmpfs(clips, tmp_path):
    src = probe(clips["mp4_25"])
    segs = write_segments(src, tmp_path, 100)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    with tmpfs(tmp_path / "tiny", "48k") as tiny:
        with pytest.raises(VideoError) as e, FrameWriter(tiny / "out.mkv", 64, 64, Fraction(25), codec="ffv1") as w:
            for _ in range(100):
                w.write(noise)
        assert_one_line(e.value, tiny / "out.mkv", "no space left")
        (tiny / "filler").write_bytes(b"x" * 40_000)
        with pytest.raises(VideoError) as e:
            mux(segs, src, tiny / "out.mp4")
        assert_one_line(e.value, tiny / "out.mp4", "no space left")
        assert [p.name for p in tiny.iterdir()] == ["filler"]


def test_file_size_limit_in_a_subprocess(clips, tmp_path):
    """RLIMIT_FSIZE (works without root): ffmpeg gets EFBIG, we get a clean one-line error."""
    src = probe(clips["mp4_ntsc"])
    segs = write_segments(src, tmp_path, 100)
    (tmp_path / "old.mkv").write_bytes(b"old")
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from fractions import Fraction
        import numpy as np
        from vrt_engine.video import FrameWriter, VideoError, mux, probe
        src = probe({str(src.path)!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))
        try:
            with FrameWriter({str(tmp_path / 'big.mkv')!r}, 64, 64, Fraction(25), codec="ffv1") as w:
                for _ in range(50):
                    w.write(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
        except VideoError as e:
            print("writer|" + str(e))
        try:
            mux([{str(segs[0])!r}], src, {str(tmp_path / 'old.mkv')!r})
        except VideoError as e:
            print("mux|" + str(e))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False,
                       timeout=60)
    lines = dict(x.split("|", 1) for x in r.stdout.splitlines() if "|" in x)
    assert set(lines) == {"writer", "mux"}, r.stdout + r.stderr
    # Popen restores SIGXFSZ's default action, so ffmpeg dies of it (else it would see EFBIG)
    for key, name in (("writer", "big.mkv"), ("mux", "old.mkv")):
        assert lines[key].startswith(str(tmp_path / name)), lines[key]
        assert "file size limit" in lines[key] or "too large" in lines[key].lower(), lines[key]
    assert (tmp_path / "old.mkv").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.mkv", segs[0].name]
