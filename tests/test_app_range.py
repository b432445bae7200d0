"""The app's part of a video: In and Out on the preview's frame slider, the part in the queue, repeats refused."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fractions import Fraction

import test_app
from clips import make_test_clip, stream_span
from PySide6.QtCore import Qt
from test_app import JOB_TIMEOUT_MS, add_and_wait, use_bicubic

from app.widgets.queue_table import Status
from vrt_engine.frame_range import FrameRange
from vrt_engine.video import probe

# the app tests' fixtures: a real window on its own preferences, isolated from the user's
make_window = test_app.make_window
_isolated = test_app._isolated


def test_in_and_out_on_the_slider_make_a_part_that_the_queue_shows_and_runs(make_window, qtbot, tmp_path):
    clip = make_test_clip(tmp_path / "clip.mp4", 64, 48, 50, fps=Fraction(25), audio=True)
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    add_and_wait(qtbot, w, clip, expect=1)
    item = w.controller.model.item(0)
    w.table.select_ids([item.id])
    assert w.preview.range_label.text() == "All frames" and not w.preview.clear_range_button.isEnabled()

    w.preview.slider.setValue(10)
    qtbot.mouseClick(w.preview.in_button, Qt.MouseButton.LeftButton)
    w.preview.slider.setValue(29)
    qtbot.mouseClick(w.preview.out_button, Qt.MouseButton.LeftButton)
    assert item.frame_range == FrameRange(10, 30)
    assert w.preview.range_label.text() == "Frames 10–29 (20)"
    model = w.controller.model
    assert model.data(model.index(0, model.FRAMES)) == "20 of 50"
    assert "frames 10–29" in model.data(model.index(0, model.FRAMES), Qt.ItemDataRole.ToolTipRole)
    assert str(out_dir / "clip_x4_f10-29.mp4") in model.data(model.index(0, model.NAME), Qt.ItemDataRole.ToolTipRole)

    # the same input again is another job (the whole of it); the same part twice is refused
    add_and_wait(qtbot, w, clip, expect=2)
    whole = w.controller.model.item(1)
    assert not w.controller.set_item_range(whole.id, FrameRange(10, 30))
    assert whole.frame_range is None and "already listed" in w.statusBar().currentMessage()
    add_and_wait(qtbot, w, clip, expect=2)
    assert "already in the queue" in w.statusBar().currentMessage()
    assert w.controller.overall().frames_total == 70

    w.start_action.trigger()
    qtbot.waitUntil(lambda: whole.status in (Status.DONE, Status.FAILED), timeout=JOB_TIMEOUT_MS)
    assert item.status == Status.DONE and whole.status == Status.DONE, (item.message, whole.message)
    part = out_dir / "clip_x4_f10-29.mp4"
    assert item.output == part and probe(part).frame_count == 20
    assert probe(out_dir / "clip_x4.mp4").frame_count == 50
    assert abs(stream_span(part, "0:a:0")[1] - 0.8) < 1e-3  # the sound ends with the part (20 frames at 25 fps)
    assert w.controller.overall().frames_done == 70
    w.table.select_ids([whole.id])
    w.table.select_ids([item.id])
    assert not w.preview.in_button.isEnabled() and not w.preview.clear_range_button.isEnabled()  # done: fixed
    assert not w.controller.set_item_range(item.id, None) and item.frame_range == FrameRange(10, 30)


def test_out_before_in_keeps_a_part_and_all_clears_it(make_window, qtbot, tmp_path):
    clip = make_test_clip(tmp_path / "clip.mp4", 32, 24, 40, audio=False)
    w = make_window()
    add_and_wait(qtbot, w, clip, expect=1)
    item = w.controller.model.item(0)
    w.table.select_ids([item.id])
    w.preview.slider.setValue(20)
    w.preview.in_button.click()
    assert item.frame_range == FrameRange(20, 40)
    w.preview.slider.setValue(5)
    w.preview.out_button.click()  # out before in: the part runs from the start to here
    assert item.frame_range == FrameRange(0, 6)
    w.preview.clear_range_button.click()
    assert item.frame_range is None and w.preview.range_label.text() == "All frames"


def test_two_inputs_writing_one_output_are_refused_when_added(make_window, qtbot, tmp_path):
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        make_test_clip(tmp_path / name / "a.mp4", 32, 24, 4, audio=False)
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    add_and_wait(qtbot, w, tmp_path / "one" / "a.mp4", expect=1)
    add_and_wait(qtbot, w, tmp_path / "two" / "a.mp4", expect=1)
    message = w.statusBar().currentMessage()
    assert "would write" in message and str(out_dir / "a_x4.mp4") in message, message


def test_a_new_part_for_a_cancelled_job_discards_the_old_parts_work(make_window, qtbot, clips, tmp_path):
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    w.form.chunk_spin.setValue(4)
    add_and_wait(qtbot, w, clips["long"], expect=1)
    item = w.controller.model.item(0)
    assert w.controller.set_item_range(item.id, FrameRange(0, 100))
    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)
    w.cancel_action.trigger()
    qtbot.waitUntil(lambda: not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    assert item.status == Status.CANCELLED
    old_work = out_dir / ".long_x4_f0-99.mp4.vrt-work"
    assert old_work.is_dir()

    assert w.controller.set_item_range(item.id, FrameRange(20, 60))
    qtbot.waitUntil(lambda: not old_work.exists(), timeout=5000)  # removed by the app's file worker
    assert list(out_dir.iterdir()) == []
