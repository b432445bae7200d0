"""Interlaced and telecined input: detection, the deinterlacing filters, exact counts, and jobs end to end.

Every clip is made here with the bundled ffmpeg: a 50 fps progressive source woven into 25 fps
top-field-first interlaced MPEG-2 (as on a DVD or broadcast; the pictures scroll so every field
moves), the same woven pictures flagged
progressive (flags that lie), a 24 fps source 3:2 telecined to 30 fps, and progressive clips that
must come out exactly as they would without this feature.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from clips import ffmpeg

from vrt_engine import video
from vrt_engine.cli_upscale import upscale_parser
from vrt_engine.job import Finished, Job, JobSettings, LogLine, run_job
from vrt_engine.video import FieldPlan, plan_fields, read_frames

SIZE = "176x144"


def _ok(*args: str) -> None:
    r = ffmpeg("-y", *args)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fields")
    c = {
        "src50": d / "src50.mkv",
        "tff": d / "tff.mpg",
        "lying": d / "lying.mpg",
        "src24": d / "src24.mkv",
        "telecine": d / "telecine.mpg",
        "smooth": d / "smooth.mpg",
    }
    _ok("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=50,scroll=h=0.01", "-frames:v", "80", "-pix_fmt", "yuv420p",
        "-c:v", "ffv1", str(c["src50"]))
    weave = "tinterlace=mode=interleave_top,setfield=tff"
    _ok("-i", str(c["src50"]), "-vf", weave, "-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-field_order", "tt",
        "-q:v", "2", str(c["tff"]))
    _ok("-i", str(c["src50"]), "-vf", "tinterlace=mode=interleave_top", "-c:v", "mpeg2video", "-q:v", "2",
        str(c["lying"]))
    _ok("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=24,scroll=h=0.02", "-frames:v", "48", "-pix_fmt", "yuv420p",
        "-c:v", "ffv1", str(c["src24"]))
    _ok("-i", str(c["src24"]), "-vf", "telecine=first_field=top:pattern=23,setfield=tff", "-c:v", "mpeg2video",
        "-flags", "+ilme+ildct", "-field_order", "tt", "-q:v", "2", str(c["telecine"]))
    # progressive MPEG-2 of camera-like (not pixel-noise) pictures: checked by idet, must be left alone
    _ok("-f", "lavfi", "-i", "testsrc2=size=88x72:rate=25,scale=176:144,scroll=h=0.01", "-frames:v", "40",
        "-c:v", "mpeg2video", "-q:v", "2", str(c["smooth"]))
    return c


def _luma(frames) -> np.ndarray:
    a = np.stack(list(frames)).astype(np.float64)
    return a @ np.array([0.299, 0.587, 0.114])


def _combing(y: np.ndarray) -> float:
    """Mean |line - next line| over mean |line - line two below|: woven fields in motion make it > 1."""
    adjacent = np.abs(np.diff(y, axis=-2)).mean()
    two_apart = np.abs(y[..., 2:, :] - y[..., :-2, :]).mean()
    return float(adjacent / two_apart)


def _shrink4(frames: np.ndarray) -> np.ndarray:
    n, h, w = frames.shape
    return frames.reshape(n, h // 4, 4, w // 4, 4).mean(axis=(2, 4))


def _pts(path: Path) -> list[Fraction]:
    r = ffmpeg("-copyts", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-")
    assert r.returncode == 0, r.stderr
    tb = Fraction(next(x for x in r.stdout.splitlines() if x.startswith("#tb")).split(":")[1].strip())
    return sorted(int(x.split(",")[2]) * tb for x in r.stdout.splitlines() if not x.startswith("#"))


def _assert_steps(pts: list[Fraction], fps: int, count: int) -> None:
    """Frame k at k/fps from the first, to the container's millisecond (Matroska, mp4 at 24 fps)."""
    assert len(pts) == count
    assert all(abs(p - pts[0] - Fraction(k, fps)) <= Fraction(1, 1000) for k, p in enumerate(pts)), pts[:6]


def _banner_video_line(path: Path) -> str:
    r = subprocess.run([video.ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return next(x for x in r.stderr.splitlines() if "Video:" in x)


# ------------------------------------------------------------------------------------------ detection


def test_detection_tells_interlaced_lying_telecined_and_progressive(made, small_clip):
    tff = plan_fields(video.probe(made["tff"]))
    assert (tff.action, tff.order) == ("frame", "tff") and "interlaced" in tff.note
    lying = video.probe(made["lying"])
    assert lying.field_order == "progressive"  # the flag lies; the pictures are woven fields
    assert (plan_fields(lying).action, plan_fields(lying).order) == ("frame", "tff")
    tele = plan_fields(video.probe(made["telecine"]))
    assert (tele.action, tele.order) == ("ivtc", "tff") and "telecine" in tele.note
    smooth = plan_fields(video.probe(made["smooth"]))
    assert smooth.action == "none" and "progressive" in smooth.note  # looked at, found progressive
    # h264 flagged progressive is trusted without a look: nothing to do, nothing to say
    assert plan_fields(video.probe(small_clip)) == FieldPlan()


def test_modes_off_frame_field(made, small_clip):
    tff = video.probe(made["tff"])
    assert plan_fields(tff, "off") == FieldPlan()
    assert plan_fields(tff, "field").action == "field"
    forced = plan_fields(video.probe(small_clip), "frame")
    assert forced.action == "frame" and "as asked" in forced.note
    with pytest.raises(ValueError, match="deinterlace: 'weave'"):
        plan_fields(tff, "weave")
    with pytest.raises(ValueError, match="deinterlace"):
        JobSettings(deinterlace="yes").validate()


# ------------------------------------------------------------------------------ filters, counts, resume


def test_filtered_counts_are_exact_for_every_length_and_resume_skips_filtered_frames(made, tmp_path):
    """decimate drops one frame per full cycle of five; bwdif gives one or two frames per frame:
    read_frames raises if the filtered decode yields another count than the plan says."""
    for n in (10, 11, 12, 13, 14):
        clip = tmp_path / f"t{n}.mkv"
        _ok("-i", str(made["telecine"]), "-frames:v", str(n), "-c:v", "ffv1", str(clip))
        info = video.probe(clip)
        for plan in (FieldPlan("ivtc"), FieldPlan("field"), FieldPlan("frame")):
            after = plan.apply(info)
            frames = list(read_frames(clip, after, pre_filter=plan.filter))
            assert len(frames) == after.frame_count == plan.frame_count(n)
            if n == 13:  # resume: start counts filtered frames and yields the very same frames
                k = after.frame_count - 4
                rest = list(read_frames(clip, after, start=k, pre_filter=plan.filter))
                assert len(rest) == 4 and all(np.array_equal(a, b) for a, b in zip(rest, frames[k:], strict=True))


def test_inverse_telecine_gives_back_the_24_fps_film(made):
    info = video.probe(made["telecine"])
    assert info.fps == 30 and info.frame_count == 60
    plan = plan_fields(info)
    after = plan.apply(info)
    assert (after.fps, after.frame_count, after.field_order) == (24, 48, "progressive")
    got = _luma(read_frames(made["telecine"], after, pre_filter=plan.filter))
    film = _luma(read_frames(made["src24"]))
    woven = _luma(read_frames(made["telecine"]))
    assert got.shape == film.shape
    assert np.abs(got - film).mean() < 2.0  # each film frame back, up to MPEG-2 noise
    worst = max(_combing(f) for f in woven)  # two frames in five mix two film frames
    assert worst > 1.2 and worst > 1.5 * max(_combing(f) for f in got), worst


# ------------------------------------------------------------------------------------------ jobs


def test_interlaced_job_output_is_progressive_and_far_closer_to_deinterlaced_than_to_woven(made, tmp_path):
    out = tmp_path / "tff_x4.mkv"
    lines: list[str] = []
    event = run_job(Job(made["tff"], out, JobSettings(model="bicubic", codec="ffv1")),
                    lambda e: isinstance(e, LogLine) and lines.append(e.text))
    assert isinstance(event, Finished), event
    assert any("deinterlacing with bwdif" in x for x in lines), lines
    dst = video.probe(out)
    assert (dst.fps, dst.frame_count, dst.field_order) == (25, 40, "progressive")
    assert "progressive" in _banner_video_line(out)
    _assert_steps(_pts(out), 25, 40)

    up = _shrink4(_luma(read_frames(out)))
    woven = _luma(read_frames(made["tff"]))
    truth = _luma(read_frames(made["src50"]))[0::2]  # the instants of the top fields: what deinterlacing aims at
    assert _combing(woven) > 1.2 and _combing(up) < 0.8 * _combing(woven)
    to_truth, to_woven = np.abs(up - truth).mean(), np.abs(up - woven).mean()
    assert to_truth * 2 < to_woven, (to_truth, to_woven)


def test_field_mode_job_doubles_the_rate_with_one_frame_per_field(made, tmp_path):
    out = tmp_path / "tff_fields.mkv"
    event = run_job(Job(made["tff"], out, JobSettings(model="bicubic", codec="ffv1", deinterlace="field",
                                                      chunk=8, segment_frames=16)))
    assert isinstance(event, Finished), event
    dst = video.probe(out)
    assert (dst.fps, dst.frame_count, dst.field_order) == (50, 80, "progressive")
    _assert_steps(_pts(out), 50, 80)
    up = _shrink4(_luma(read_frames(out)))
    truth = _luma(read_frames(made["src50"]))  # field k of the weave is source frame k
    woven = np.repeat(_luma(read_frames(made["tff"])), 2, axis=0)
    assert np.abs(up - truth).mean() * 2 < np.abs(up - woven).mean()


def test_telecined_job_gives_24_fps_progressive(made, tmp_path):
    out = tmp_path / "film_x4.mp4"
    lines: list[str] = []
    event = run_job(Job(made["telecine"], out, JobSettings(model="bicubic", chunk=8, segment_frames=16)),
                    lambda e: isinstance(e, LogLine) and lines.append(e.text))
    assert isinstance(event, Finished), event
    assert any("inverse telecine" in x for x in lines), lines
    dst = video.probe(out)
    assert (dst.fps, dst.frame_count, dst.field_order) == (24, 48, "progressive")
    _assert_steps(_pts(out), 24, 48)
    up = _shrink4(_luma(read_frames(out)))
    film = _luma(read_frames(made["src24"]))
    pulled = _luma(read_frames(made["telecine"]))[:48]
    to_film, to_pulled = np.abs(up - film).mean(), np.abs(up - pulled).mean()
    assert to_film * 2 < to_pulled, (to_film, to_pulled)


@pytest.mark.parametrize("name", ["small", "smooth"])
def test_progressive_input_comes_out_exactly_as_with_deinterlacing_off(made, small_clip, tmp_path, name):
    src = small_clip if name == "small" else made["smooth"]
    outs = []
    for mode in ("auto", "off"):
        outs.append(tmp_path / f"{mode}.mkv")
        event = run_job(Job(src, outs[-1], JobSettings(model="bicubic", codec="ffv1", deinterlace=mode)))
        assert isinstance(event, Finished), event
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_vrt_upscale_help_says_what_happens_to_interlaced_input(capsys):
    with pytest.raises(SystemExit):
        upscale_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--deinterlace {auto,off,frame,field}" in text
    assert "Interlaced input" in text and "bwdif" in text and "Progressive input is never touched" in text
    with pytest.raises(SystemExit):
        upscale_parser().parse_args(["a.mp4", "--deinterlace", "weave"])


def test_app_settings_carry_the_deinterlace_choice(tmp_path):
    pytest.importorskip("PySide6")
    from PySide6.QtWidgets import QApplication

    from app.settings import AppSettings, JobPrefs
    from app.widgets.settings_form import SettingsForm

    _ = QApplication.instance() or QApplication([])
    form = SettingsForm()
    form.set_prefs(JobPrefs(deinterlace="field"))
    assert form.prefs().deinterlace == "field"
    assert form.prefs().job_settings().deinterlace == "field"
    store = AppSettings(tmp_path / "prefs.ini")
    store.set_job_defaults(JobPrefs(deinterlace="off"))
    assert AppSettings(tmp_path / "prefs.ini").job_defaults().deinterlace == "off"
    (tmp_path / "bad.ini").write_text("[job_defaults]\ndeinterlace=weave\n")
    assert AppSettings(tmp_path / "bad.ini").job_defaults().deinterlace == "auto"
