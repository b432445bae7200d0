"""vrt-upscale --start/--end/--duration, and repeated inputs or clashing outputs refused before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import pytest
from clips import make_test_clip, stream_span

from vrt_engine import video


def _upscale(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "upscale", *map(str, args)], capture_output=True, text=True, **kw
    )


def test_help_says_how_to_choose_a_range():
    result = _upscale("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for words in (
        "--start POS",
        "--end POS",
        "--duration POS",
        "MM:SS(.ms)",
        "HH:MM:SS(.ms)",
        "f2250",
        "--start f40 --end f80 is frames 40-79",
        "END not included",
    ):
        assert words in text, words


def test_a_part_by_time_is_its_own_output_with_cut_audio(tmp_path):
    clip = make_test_clip(tmp_path / "c.mp4", 32, 24, 100, fps=Fraction(25), audio=True)
    result = _upscale(clip, "--model", "bicubic", "--preset", "ultrafast", "--start", "0:01.6", "--duration", "1.6")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "c_x4_f40-79.mp4"
    assert f"{out} (40 frames" in result.stdout
    assert video.probe(out).frame_count == 40
    a0, a1 = stream_span(out, "0:a:0")
    assert a0 <= 0 and abs(a1 - 1.6) < 1e-3  # ends with the range (AAC priming before 0)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--start", "10"], "--start"),
        (["--start", "f100"], "--start"),
        (["--start", "2", "--end", "1"], "--end"),
        (["--end", "0:05"], "--end"),
        (["--start", "3", "--duration", "2"], "--duration"),
        (["--end", "1", "--duration", "1"], "--duration"),
        (["--start", "1:75"], "--start"),
        (["--end", "soon"], "--end"),
    ],
)
def test_a_bad_range_is_one_line_naming_the_option_and_nothing_is_written(tmp_path, args, option):
    clip = make_test_clip(tmp_path / "c.mp4", 32, 24, 100, fps=Fraction(25), audio=False)
    before = clip.read_bytes()
    result = _upscale(clip, "--model", "bicubic", *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]
    assert clip.read_bytes() == before


def test_the_same_input_listed_twice_is_one_job(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    clip = make_test_clip(folder / "a.mp4", 32, 24, 4, audio=False)
    os.symlink(clip, tmp_path / "link.mp4")
    result = _upscale(clip, folder, tmp_path / "link.mp4", "--model", "bicubic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # before: the second copy failed (output exists) after the first
    assert result.stderr.count("listed twice") == 2
    assert result.stdout.count("a_x4.mp4 (4 frames") == 1
    assert (folder / "a_x4.mp4").exists()


def test_two_inputs_writing_one_output_are_refused_before_any_work(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        make_test_clip(tmp_path / name / "a.mp4", 32, 24, 4, audio=False)
    out = tmp_path / "out"
    out.mkdir()
    result = _upscale(tmp_path / "one" / "a.mp4", tmp_path / "two" / "a.mp4", "--model", "bicubic", "--output-dir", out)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out / "a_x4.mp4") in lines[0] and "would write" in lines[0], result.stderr
    assert list(out.iterdir()) == []  # refused before the first job ran


def test_an_output_that_is_another_input_is_refused(tmp_path):
    a = make_test_clip(tmp_path / "a.mp4", 32, 24, 4, audio=False)
    b = make_test_clip(tmp_path / "a_x4.mp4", 32, 24, 4, audio=False)
    before = b.read_bytes()
    result = _upscale(a, b, "--model", "bicubic", "--overwrite")
    assert result.returncode == 1 and "also an input" in result.stderr, result.stderr
    assert b.read_bytes() == before
