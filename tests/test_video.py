"""vrt_engine.video against the real ffmpeg of imageio-ffmpeg, on tiny clips made here."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from fsutil import tmpfs

from vrt_engine import video
from vrt_engine.video import ColorTags, FrameWriter, VideoError, make_test_clip, mux, probe, read_frames

NTSC = Fraction(24000, 1001)
ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------- helpers


def ffmpeg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([video.ffmpeg_exe(), "-nostdin", "-v", "error", *args], capture_output=True,
                          text=True, check=False)


def packet_md5(path: Path, spec: str) -> str:
    """md5 of a stream's packets, copied (no decoding): equal only if the data is untouched."""
    r = ffmpeg("-i", str(path), "-map", spec, "-c", "copy", "-f", "md5", "-")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def stream_span(path: Path, spec: str) -> tuple[float, float]:
    """(first pts, last pts + duration) in seconds, as stored in the file."""
    r = ffmpeg("-copyts", "-i", str(path), "-map", spec, "-c", "copy", "-f", "framecrc", "-")
    assert r.returncode == 0, r.stderr
    tb = Fraction(next(x for x in r.stdout.splitlines() if x.startswith("#tb")).split(":")[1].strip())
    rows = [x.split(",") for x in r.stdout.splitlines() if not x.startswith("#")]
    pts = [int(c[2]) for c in rows]
    last = max(range(len(rows)), key=lambda i: pts[i])
    return float(min(pts) * tb), float((pts[last] + int(rows[last][3])) * tb)


def child_pids() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            pids |= {int(x) for x in (task / "children").read_text().split()}
    return pids


def upscale4(frame: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(frame, 4, axis=0), 4, axis=1)


def write_segments(src: video.VideoInfo, folder: Path, per_segment: int, *, suffix: str = ".mp4",
                   codec: str = "h264", sar: Fraction | None = None, scale: bool = True) -> list[Path]:
    """Run the real pipeline shape: read -> (x4 nearest) -> FrameWriter segments."""
    segs: list[Path] = []
    writer = None
    w, h = (src.width * 4, src.height * 4) if scale else (src.width, src.height)
    if sar is None:
        sar = video.output_sar(src, w, h)
    for i, frame in enumerate(read_frames(src.path, src)):
        if i % per_segment == 0:
            if writer:
                writer.close()
            segs.append(folder / f"seg{len(segs):04d}{suffix}")
            writer = FrameWriter(segs[-1], w, h, src.fps, codec=codec, color=src, sar=sar, preset="ultrafast")
        writer.write(upscale4(frame) if scale else frame)
    writer.close()
    return segs


def assert_one_line(err: VideoError, path: Path, *words: str) -> None:
    text = str(err)
    assert "\n" not in text and text.startswith(str(path)), text
    for word in words:
        assert word.lower() in text.lower(), text


# ----------------------------------------------------------------------------------------- clips


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
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


# ----------------------------------------------------------------------------------------- probe


@pytest.mark.parametrize(
    ("name", "fps", "frames", "audio", "subs", "chapters"),
    [
        ("mp4_ntsc", NTSC, 30, 1, 2, True),
        ("mp4_25", Fraction(25), 27, 1, 1, False),
        ("mkv_ntsc", NTSC, 31, 2, 1, False),
        ("mkv_25", Fraction(25), 29, 1, 2, True),
    ],
)
def test_probe_counts_streams_and_frames(clips, name, fps, frames, audio, subs, chapters):
    info = probe(clips[name])
    assert (info.width, info.height) == (32, 18)
    assert info.fps == fps
    assert info.frame_count == frames
    assert info.duration == pytest.approx(frames / float(fps), abs=1e-6)
    assert (info.audio_streams, info.subtitle_streams, info.has_chapters) == (audio, subs, chapters)
    assert (info.pix_fmt, info.bit_depth, info.has_alpha, info.is_gray) == ("yuv420p", 8, False, False)
    assert (info.rotation, info.sar, info.is_vfr, info.is_image_folder) == (0, 1, False, False)
    assert [s.language for s in info.streams if s.kind == "audio"][:1] == ["eng"]


@pytest.mark.parametrize("name", ["mp4_ntsc", "mkv_25", "hevc", "ten", "odd"])
def test_frame_count_equals_decoded_frames(clips, name):
    info = probe(clips[name])
    assert info.frame_count == probe(clips[name], exact=True).frame_count
    assert sum(1 for _ in read_frames(clips[name], info)) == info.frame_count


def test_frame_count_skips_edit_list_preroll(clips, tmp_path):
    """A stream-copied cut starts mid-GOP: the pre-roll packets are demuxed but never shown."""
    cut = tmp_path / "cut.mp4"
    r = ffmpeg("-ss", "1.3", "-i", str(clips["long"]), "-c", "copy", str(cut))
    assert r.returncode == 0, r.stderr
    info = probe(cut)
    assert info.frame_count == probe(cut, exact=True).frame_count == sum(1 for _ in read_frames(cut, info))
    assert info.frame_count < 120 - 25


def test_probe_png_folder(clips):
    info = probe(clips["pngs"], folder_fps=Fraction(24))
    assert info.is_image_folder and info.frame_count == 12 and info.fps == 24
    assert (info.width, info.height, info.pix_fmt, info.audio_streams) == (32, 18, "rgb24", 0)
    assert info.duration == pytest.approx(0.5)


# ----------------------------------------------------------------------------------------- reading


def test_read_frames_shape_and_dtype(clips):
    frames = list(read_frames(clips["mkv_ntsc"]))
    assert len(frames) == 31
    assert all(f.shape == (18, 32, 3) and f.dtype == np.uint8 for f in frames)
    assert frames[0].std() > 10  # a real picture, not a blank


@pytest.mark.parametrize("name", ["odd", "odd444"])
def test_odd_size(clips, name):
    info = probe(clips[name])
    assert (info.width, info.height) == (33, 17)
    frames = list(read_frames(clips[name], info))
    assert len(frames) == 9 and frames[0].shape == (17, 33, 3)


@pytest.mark.parametrize("name", ["gray", "png_gray16"])
def test_grayscale_gives_three_equal_channels(clips, name):
    info = probe(clips[name])
    assert info.is_gray
    frame = next(iter(read_frames(clips[name], info)))
    assert frame.shape == (18, 32, 3)
    assert np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(frame[..., 1], frame[..., 2])
    assert frame.dtype == (np.uint16 if name == "png_gray16" else np.uint8)


@pytest.mark.parametrize("name", ["rgba", "png_rgba"])
def test_alpha_is_dropped_with_a_warning(clips, name):
    info = probe(clips[name])
    assert info.has_alpha
    with pytest.warns(UserWarning, match="alpha"):
        frames = list(read_frames(clips[name], info))
    assert frames[0].shape == (18, 32, 3)


def test_ten_bit_keeps_precision(clips):
    info = probe(clips["ten"])
    assert (info.pix_fmt, info.bit_depth) == ("yuv420p10le", 10)
    frames = np.stack(list(read_frames(clips["ten"], info)))
    assert frames.dtype == np.uint16 and frames.max() > 255 * 200
    assert np.mean(frames % 256 != 0) > 0.5  # not 8-bit values shifted up


@pytest.mark.parametrize("name", ["mp4_ntsc", "pngs"])
def test_start_skips_exact_frames(clips, name):
    info = probe(clips[name])
    every = list(read_frames(clips[name], info))
    rest = list(read_frames(clips[name], info, start=7))
    assert len(rest) == len(every) - 7
    assert all(np.array_equal(a, b) for a, b in zip(every[7:], rest, strict=True))
    empty = read_frames(clips[name], info, start=info.frame_count)
    assert list(empty) == []
    empty.close()  # callers close the reader in a finally: works on the empty one too


def test_start_in_a_folder_with_free_names(clips, tmp_path):
    folder = tmp_path / "free"
    folder.mkdir()
    for i, f in enumerate(sorted(clips["pngs"].iterdir())):
        shutil.copy(f, folder / f"frame_{i:03d}[x].png")
    every = list(read_frames(clips["pngs"]))
    rest = list(read_frames(folder, start=5))
    assert len(rest) == 7 and all(np.array_equal(a, b) for a, b in zip(every[5:], rest, strict=True))


def test_closing_the_reader_reaps_ffmpeg(clips):
    before = child_pids()
    gen = read_frames(clips["long"])
    next(gen)
    assert child_pids() - before, "ffmpeg should be running"
    gen.close()
    assert not child_pids() - before, "ffmpeg left behind"


def test_decoding_uses_the_tagged_matrix(tmp_path):
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[:16] = (200, 50, 100)
    frame[16:] = (20, 220, 240)
    for matrix in ("bt709", "smpte170m", "bt2020nc"):
        out = tmp_path / f"{matrix}.mkv"
        with FrameWriter(out, 32, 32, Fraction(25), crf=5, color=ColorTags(matrix)) as w:
            w.write(frame)
        info = probe(out)
        assert info.color_matrix == matrix and info.color_primaries == "bt709"
        back = next(iter(read_frames(out, info)))
        assert np.abs(back[4:12].astype(int) - frame[4:12]).max() <= 3, matrix
        assert np.abs(back[20:28].astype(int) - frame[20:28]).max() <= 3, matrix


def test_untagged_input_guess():
    base = probe_stub(width=640, height=480)
    assert base.effective_matrix == "smpte170m" and base.effective_range == "tv"
    assert probe_stub(width=1920, height=1080).effective_matrix == "bt709"
    assert probe_stub(color_matrix="bt2020nc").effective_matrix == "bt2020nc"
    assert ColorTags.for_output(probe_stub(color_matrix="smpte170m")).matrix == "smpte170m"
    assert ColorTags.for_output(probe_stub()) == ColorTags()


def probe_stub(**changes) -> video.VideoInfo:
    info = video.VideoInfo(
        path=Path("x.mp4"), width=640, height=480, fps=Fraction(25), frame_count=1, duration=0.04,
        pix_fmt="yuv420p", bit_depth=8, has_alpha=False, is_gray=False, rotation=0, sar=Fraction(1),
        color_matrix=None, color_range=None, color_primaries=None, color_transfer=None, audio_streams=0,
        subtitle_streams=0, has_chapters=False, is_vfr=False, is_image_folder=False,
    )
    return dataclasses.replace(info, **changes)


def test_variable_frame_rate_is_refused(tmp_path):
    clip = make_test_clip(tmp_path / "vfr.mkv", 32, 18, 20, vfr=True)
    info = probe(clip)
    assert info.is_vfr
    with pytest.raises(VideoError) as e:
        read_frames(clip, info)  # refused at the call, before any ffmpeg starts
    assert_one_line(e.value, clip, "variable frame rate is not supported", "-fps_mode cfr")
    with pytest.raises(VideoError, match="variable frame rate"):
        mux([clip], info, tmp_path / "out.mkv")


# ----------------------------------------------------------------------------------------- writing


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


# ----------------------------------------------------------------------------------------- muxing


@pytest.mark.parametrize(("name", "suffix"), [("mp4_ntsc", ".mp4"), ("mp4_ntsc", ".mkv"), ("mkv_25", ".mp4"),
                                              ("mkv_ntsc", ".mkv")])
def test_mux_keeps_audio_subtitles_chapters(clips, tmp_path, name, suffix):
    src = probe(clips[name])
    segs = write_segments(src, tmp_path, 10)
    assert len(segs) == -(-src.frame_count // 10)
    out = tmp_path / f"out{suffix}"
    mux(segs, src, out)
    info = probe(out)
    assert (info.width, info.height, info.fps, info.frame_count) == (128, 72, src.fps, src.frame_count)
    assert info.duration == pytest.approx(src.duration, abs=1e-6)
    assert (info.audio_streams, info.subtitle_streams, info.has_chapters) == (
        src.audio_streams, src.subtitle_streams, src.has_chapters)
    langs = [(s.kind, s.language) for s in src.streams if s.kind in ("audio", "subtitle")]
    assert [(s.kind, s.language) for s in info.streams if s.kind in ("audio", "subtitle")] == langs
    for k in range(src.audio_streams):
        assert packet_md5(out, f"0:a:{k}") == packet_md5(src.path, f"0:a:{k}")
    if src.path.suffix == suffix:  # same container: subtitles are copied untouched
        for k in range(src.subtitle_streams):
            assert packet_md5(out, f"0:s:{k}") == packet_md5(src.path, f"0:s:{k}")
    else:
        want = "subrip" if suffix == ".mkv" else "mov_text"
        assert {s.codec for s in info.streams if s.kind == "subtitle"} == {want}
    # the video is the segments' packets, unchanged
    joined = b"".join(np.stack(list(read_frames(s))).tobytes() for s in segs)
    assert np.stack(list(read_frames(out))).tobytes() == joined


def test_mux_carries_rotation_sar_and_start_offset(clips, tmp_path):
    src = probe(clips["rotated"])
    assert (src.rotation, src.sar) == (90, Fraction(4, 3))
    offset = src.video_start - src.start_time
    assert offset > 0.1  # the clip's video starts after its audio
    for sar, suffix in ((None, ".mp4"), (Fraction(1), ".mkv")):  # the second one: mux must fix the SAR
        folder = tmp_path / suffix[1:]
        folder.mkdir()
        segs = write_segments(src, folder, 8, sar=sar)
        out = tmp_path / f"out{suffix}"
        mux(segs, src, out)
        info = probe(out)
        assert (info.rotation, info.sar, info.frame_count) == (90, Fraction(4, 3), src.frame_count)
        assert info.video_start - info.start_time == pytest.approx(offset, abs=0.002)
        assert packet_md5(out, "0:a:0") == packet_md5(src.path, "0:a:0")


def test_mux_can_leave_out_audio_and_subtitles(clips, tmp_path):
    src = probe(clips["mkv_25"])
    segs = write_segments(src, tmp_path, 100, scale=False)
    mux(segs, src, tmp_path / "out.mp4", keep_audio=False, keep_subtitles=False, keep_chapters=False)
    info = probe(tmp_path / "out.mp4")
    assert (info.audio_streams, info.subtitle_streams, info.has_chapters) == (0, 0, False)
    assert info.frame_count == src.frame_count


def test_writer_takes_float_and_other_depths(tmp_path):
    frame = _frames(1)[0]
    with FrameWriter(tmp_path / "f.mkv", 32, 18, Fraction(25), codec="ffv1") as w:
        w.write(frame.astype(np.float32) / 255)
        w.write(frame.astype(np.uint16) * 257)
    with FrameWriter(tmp_path / "d.mkv", 32, 18, Fraction(25), codec="ffv1", input_bit_depth=10) as w:
        w.write(frame)
    assert all(np.array_equal(b, frame) for b in read_frames(tmp_path / "f.mkv"))
    assert np.array_equal(next(iter(read_frames(tmp_path / "d.mkv"))), frame.astype(np.uint16) * 257)


def test_mux_webm_reencodes_audio(clips, tmp_path):
    src = probe(clips["mp4_25"])
    segs = write_segments(src, tmp_path, 100, suffix=".webm", codec="vp9", scale=False)
    mux(segs, src, tmp_path / "out.webm")
    info = probe(tmp_path / "out.webm")
    assert [s.codec for s in info.streams] == ["vp9", "opus", "webvtt"]
    assert info.frame_count == src.frame_count
    (tmp_path / "h264").mkdir()
    h264 = write_segments(src, tmp_path / "h264", 100, scale=False)
    with pytest.raises(VideoError) as e:
        mux(h264, src, tmp_path / "bad.webm")
    assert_one_line(e.value, tmp_path / "bad.webm", "webm cannot hold h264")


@pytest.mark.slow
def test_long_clip_audio_and_video_end_together(tmp_path):
    """Ten minutes at 24000/1001 fps in 2000-frame Matroska segments (millisecond timestamps, as
    the job writes them): no drift between audio and video in mp4 or mkv output."""
    frames = int(600 * NTSC)
    src_path = make_test_clip(tmp_path / "long.mp4", 32, 18, frames, fps=NTSC, sample_rate=16000,
                              audio_codec="libmp3lame")
    src = probe(src_path)
    assert src.frame_count == frames
    segs = write_segments(src, tmp_path, 2000, scale=False, suffix=".mkv")
    frame = 1 / float(NTSC)
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        mux(segs, src, out)
        info = probe(out)
        assert (info.frame_count, info.fps, info.is_vfr) == (frames, NTSC, False)
        v0, v1 = stream_span(out, "0:v:0")
        a0, a1 = stream_span(out, "0:a:0")
        sv0, sv1 = stream_span(src_path, "0:v:0")
        sa0, sa1 = stream_span(src_path, "0:a:0")
        assert v1 - v0 == pytest.approx(sv1 - sv0, abs=frame)
        assert (v1 - a1) == pytest.approx(sv1 - sa1, abs=frame)
        assert (v0 - a0) == pytest.approx(sv0 - sa0, abs=frame)


def test_mux_output_appears_only_when_complete(clips, tmp_path, monkeypatch):
    src = probe(clips["mp4_25"])
    segs = write_segments(src, tmp_path, 100, scale=False)
    out = tmp_path / "final.mkv"
    out.write_bytes(b"previous")
    real_run = subprocess.run
    seen = []

    def spy(cmd, *args, **kwargs):
        if "concat" in cmd:
            seen.append((out.read_bytes(), Path(cmd[-1]).parent == out.parent))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(video.subprocess, "run", spy)
    mux(segs, src, out)
    assert seen == [(b"previous", True)]
    assert probe(out).frame_count == src.frame_count
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.mkv", segs[0].name]


# ----------------------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    d = tmp_path_factory.mktemp("bad")
    text = d / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    (d / "empty.mp4").write_bytes(b"")
    halves = {}
    for name, kw in (("moov_at_end.mp4", {}), ("faststart.mp4", {"faststart": True}), ("cut.mkv", {})):
        whole = make_test_clip(d / f"whole_{name}", 32, 18, 50, **kw).read_bytes()
        halves[name] = d / name
        halves[name].write_bytes(whole[: len(whole) // 2])
    make_test_clip(d / "audio.mp4", 32, 18, 5)
    ffmpeg("-i", str(d / "audio.mp4"), "-map", "0:a", "-c", "copy", str(d / "sound.m4a"))
    return {
        "missing": (d / "missing.mp4", "not found"),
        "text": (text, "not a video file"),
        "empty": (d / "empty.mp4", "empty"),
        "truncated_mp4": (halves["moov_at_end.mp4"], "truncated"),
        "truncated_faststart": (halves["faststart.mp4"], "truncated"),
        "truncated_mkv": (halves["cut.mkv"], "truncated"),
        "zero_frames": (make_test_clip(d / "zero.mkv", 32, 18, 0), "no frames"),
        "audio_only": (d / "sound.m4a", "no video stream"),
        "empty_folder": (d, "no PNG frames"),
    }


@pytest.mark.parametrize("case", ["missing", "text", "empty", "truncated_mp4", "truncated_faststart",
                                  "truncated_mkv", "zero_frames", "audio_only", "empty_folder"])
def test_bad_input_gives_one_line_error(bad_files, case):
    path, words = bad_files[case]
    with pytest.raises(VideoError) as e:
        probe(path)
    assert_one_line(e.value, path, words)
    with pytest.raises(VideoError):
        read_frames(path)


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
