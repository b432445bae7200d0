"""A part of a variable-frame-rate video: times are read, and the part is cut, on the input's own clock."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from clips import frame_pts, make_test_clip, stream_span

from vrt_engine import video
from vrt_engine.job import Finished, Job, JobSettings, run_job

MS = 1e-3
THIRTY_THEN_TWELVE = "if(lt(N,30),N/30,1+(N-30)/12)"  # 1 s at 30 fps, then 12 fps


@pytest.mark.parametrize("codec", ["h264", "png"])
def test_a_part_of_a_vfr_clip_keeps_its_frames_times_and_audio(tmp_path, codec):
    clip = make_test_clip(tmp_path / "vfr.mp4", 32, 18, 54, fps=Fraction(30), pts=THIRTY_THEN_TWELVE, seconds=3.0)
    assert video.probe(clip).is_vfr
    out = tmp_path / ("part.mp4" if codec == "h264" else "part")
    # 0.8 s is frame 24 (30 fps part); 2.0 s is frame 42 (12 fps part): an average rate would miss both
    settings = JobSettings(model="bicubic", preset="ultrafast", chunk=4, segment_frames=7, codec=codec,
                           start="0.8", end="2.0")
    assert isinstance(run_job(Job(clip, out, settings)), Finished)
    want = frame_pts(clip)[24:42]
    want = want - want[0]
    if codec == "png":
        lines = (out / video.TIMECODE_FILE).read_text().splitlines()
        assert lines[0] == "# timestamp format v2"
        got = np.asarray([float(x) for x in lines[1:]]) / 1000.0
        assert len(sorted(out.glob("*.png"))) == 18
    else:
        got = frame_pts(out)
        first, end = stream_span(out, "0:a")
        assert -25 * MS < first <= 0  # AAC priming before 0
        assert end == pytest.approx(1.2, abs=1 * MS)  # ends with the range's end time (2.0 s - 0.8 s)
    assert len(got) == 18 and np.abs(got - want).max() <= 1 * MS
