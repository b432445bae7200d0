"""vrt_engine.video.reading against the real ffmpeg of imageio-ffmpeg, on tiny clips made here."""

from __future__ import annotations

import dataclasses
import shutil
from fractions import Fraction

import numpy as np
import pytest
from clips import (
    assert_one_line,
    child_pids,
    make_test_clip,
)

from vrt_engine.video import ColorTags, FrameWriter, VideoError, mux, probe, read_frames


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


def test_variable_frame_rate_is_read_in_order_with_its_timestamps(tmp_path):
    clip = make_test_clip(tmp_path / "vfr.mkv", 32, 18, 20, vfr=True)
    info = probe(clip)
    assert info.is_vfr and info.timestamps is not None and len(info.timestamps) == 21
    gaps = np.diff(info.timestamps[:-1])
    assert gaps[9] > 10 * gaps[0] and set(np.delete(gaps, 9)) == {gaps[0]}  # the jump before frame 10
    assert len(list(read_frames(clip, info))) == 20
    # VFR whose frames cannot be matched to timestamps (packets without pts) is still refused
    untimed = dataclasses.replace(info, timestamps=None)
    with pytest.raises(VideoError) as e:
        read_frames(clip, untimed)  # refused at the call, before any ffmpeg starts
    assert_one_line(e.value, clip, "variable frame rate", "-fps_mode cfr")
    with pytest.raises(VideoError, match="variable frame rate"):
        mux([clip], untimed, tmp_path / "out.mkv")


