"""job_list.clash says which kind of clash it found, so a queue can word a repeat its own way."""

from __future__ import annotations

from vrt_engine.frame_range import FrameRange
from vrt_engine.job_list import PlannedJob, clash


def test_a_repeat_is_told_apart_from_an_output_clash(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    (tmp_path / "link.mp4").symlink_to(a)
    first = PlannedJob(a, tmp_path / "a_x4.mp4")
    repeat = clash(PlannedJob(tmp_path / "link.mp4", tmp_path / "other.mp4"), [first])
    assert repeat is not None and repeat.repeat and "already listed" in repeat.text
    same_output = clash(PlannedJob(b, tmp_path / "a_x4.mp4"), [first])
    assert same_output is not None and not same_output.repeat and "would write it" in str(same_output)
    other_part = PlannedJob(a, tmp_path / "a_x4_f0-9.mp4", FrameRange(0, 10))
    assert clash(other_part, [first]) is None  # another part of the same input is another job
