"""The desktop app, driven like a user would (pytest-qt, offscreen), with the real engine underneath.

Jobs use the ``bicubic`` model (no weights, instant) on tiny clips made here, so the whole module
runs in well under a minute on two cores. Preferences go to a per-test INI file.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from clips import make_test_clip
from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QPoint, QPointF, QSettings, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPalette,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QSlider,
    QWidget,
)

from app.main_window import MainWindow
from app.settings import AppSettings, JobPrefs
from app.widgets.compare_view import PANE_GAP, SIDE, SPLIT, CompareView, actual_pixels_zoom
from app.widgets.drop_zone import DropZone
from app.widgets.preview_panel import PreviewPanel
from app.widgets.progress_panel import PAUSED, STOPPED, ProgressPanel, QueueProgress
from app.widgets.queue_table import QueueItem, QueueModel, QueueTable, Status
from vrt_engine.video import probe

JOB_TIMEOUT_MS = 60_000
MODEL_TIMEOUT_MS = 240_000  # the micro model on a loaded 2-core machine


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's preferences or model folder."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    monkeypatch.setenv("VRT_MODELS_DIR", str(tmp_path / "models"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A short clip with audio (64x48, 12 frames), a longer one (160x120, 96 frames, ~2 s to upscale with
    bicubic), and a very small one with audio for the model (32x24, 6 frames)."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "short": make_test_clip(folder / "short.mp4", 64, 48, 12, audio=True),
        "long": make_test_clip(folder / "long.mp4", 160, 120, 96, audio=False),
        "model": make_test_clip(folder / "model.mp4", 32, 24, 6, audio=True),
    }


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    """Build real windows on a settings file; at teardown cancel what runs and check the threads ended."""
    windows: list[MainWindow] = []

    def make(settings_path: Path | None = None, **kwargs) -> MainWindow:
        """A window on its own preferences; a new preferences file defaults new jobs to bicubic, so that
        adding a file does not compile the built-in model for its automatic preview (8 GB, a minute)."""
        kwargs.setdefault("confirm", lambda _title, _text: True)
        path = settings_path or tmp_path / "settings.ini"
        if not path.exists():
            AppSettings(path).set_job_defaults(JobPrefs(model="bicubic"))
        w = MainWindow(AppSettings(path), **kwargs)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        if w.controller.busy:
            w.controller.cancel()
            qtbot.waitUntil(lambda w=w: not w.controller.busy, timeout=JOB_TIMEOUT_MS)
        w.close()
        qtbot.waitUntil(lambda w=w: not w.isVisible(), timeout=JOB_TIMEOUT_MS)
        assert not any(t.isRunning() for t in (w.engine.engine_thread, w.engine.io_thread, w.engine.import_thread))
        w.deleteLater()
    # Destroy the windows now, while Qt and the engine are alive: C++ objects left to interpreter exit can crash it.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def use_bicubic(w: MainWindow, out_dir: Path) -> None:
    """Pick the bicubic model and an output folder in the settings form, as a user would."""
    form = w.form
    form.model_combo.setCurrentIndex(form.model_combo.findData("bicubic"))
    form.folder_edit.setText(str(out_dir))
    assert w.controller.defaults.model == "bicubic"
    assert w.controller.defaults.output_folder == str(out_dir)


def use_model_file(w: MainWindow, ckpt: Path, out_dir: Path) -> None:
    """Pick a model file (as File > Import model does) and an output folder, for new jobs."""
    w.controller.use_model_file(str(ckpt))
    w.form.folder_edit.setText(str(out_dir))
    assert w.form.model_combo.currentData() == str(ckpt)
    assert w.controller.defaults.model == str(ckpt)


def add_and_wait(qtbot, w: MainWindow, *paths: Path, expect: int) -> None:
    w.add_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: not w.controller.probing, timeout=10_000)
    assert w.controller.model.rowCount() == expect


def drop_on(widget: QWidget, paths: list[Path]) -> QDropEvent:
    """Send a real drag-enter + drop pair carrying file URLs to a widget."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop


def solid(colour: str, w: int = 64, h: int = 48) -> QImage:
    img = QImage(w, h, QImage.Format.Format_RGB888)
    img.fill(QColor(colour))
    return img


def pixel(image: QImage, x: int, y: int) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def dark_palette() -> QPalette:
    """The app's palette with dark colours where the table, text and windows are drawn (a dark desktop)."""
    dark = QPalette(QApplication.instance().palette())
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.Base, "#181818"),
        (QPalette.ColorRole.AlternateBase, "#222226"),
        (QPalette.ColorRole.Text, "#e8eaed"),
        (QPalette.ColorRole.WindowText, "#e8eaed"),
    ):
        dark.setColor(role, QColor(colour))
    return dark


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours (1 to 21; 3 is the least for graphics that must be seen)."""

    def luminance(c: QColor) -> float:
        def channel(v: int) -> float:
            v /= 255
            return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# ---------------------------------------------------------------------------------------------- adding files
def test_drop_adds_videos_and_refuses_a_text_file(make_window, qtbot, clips, tmp_path):
    w = make_window()
    assert w.queue_stack.currentWidget() is w.drop_zone
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")

    drop = drop_on(w, [clips["short"], text])
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: not w.controller.probing, timeout=10_000)

    items = w.controller.model.items()
    assert [it.path for it in items] == [clips["short"]]
    assert w.queue_stack.currentWidget() is w.table
    model = w.controller.model
    assert model.data(model.index(0, model.RESOLUTION)) == "64×48 → 256×192"
    assert model.data(model.index(0, model.FRAMES)) == "12"
    assert model.data(model.index(0, model.DURATION)) == "0:00"
    assert model.data(model.index(0, model.SIZE)).startswith("≈ ")
    assert model.data(model.index(0, model.STATUS)) == "Waiting"
    assert "notes.txt" in w.statusBar().currentMessage() and "not a video" in w.statusBar().currentMessage()
    assert any("refused" in line and "notes.txt" in line for line in w.log_view.lines())

    # a folder dropped on the drop zone's replacement (the table) adds the videos inside, skipping the rest
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(clips["short"], folder / "a.mp4")
    (folder / "readme.md").write_text("skip me")
    drop_on(w.table.viewport(), [folder])
    qtbot.waitUntil(lambda: not w.controller.probing, timeout=10_000)
    assert [it.path.name for it in w.controller.model.items()] == ["short.mp4", "a.mp4"]

    # the same file again is refused, and the queue keeps what it had
    drop_on(w, [clips["short"]])
    qtbot.waitUntil(lambda: not w.controller.probing, timeout=10_000)
    assert w.controller.model.rowCount() == 2
    assert "already in the queue" in w.statusBar().currentMessage()


def test_drop_zone_and_paste_add_files(make_window, qtbot, clips, tmp_path):
    w = make_window()
    zone = w.findChild(DropZone)
    drop_on(zone, [clips["short"]])
    qtbot.waitUntil(lambda: w.controller.model.rowCount() == 1, timeout=10_000)

    copy = tmp_path / "pasted clip.mp4"
    shutil.copy(clips["short"], copy)
    mime = QMimeData()
    mime.setText(f'"{copy}"\n')
    QGuiApplication.clipboard().setMimeData(mime)
    w.paste_action.trigger()
    qtbot.waitUntil(lambda: w.controller.model.rowCount() == 2, timeout=10_000)
    assert w.controller.model.item(1).path == copy
    # The clipboard owns the QMimeData now; empty it while Qt lives, or its deletion at interpreter exit crashes.
    QGuiApplication.clipboard().clear()


# ---------------------------------------------------------------------------------------------- running jobs
def test_bicubic_job_completes_with_audio_and_preview(make_window, qtbot, clips, tmp_path):
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    add_and_wait(qtbot, w, clips["short"], expect=1)
    item = w.controller.model.item(0)
    assert item.prefs.model == "bicubic"

    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.status in (Status.DONE, Status.FAILED), timeout=JOB_TIMEOUT_MS)
    assert item.status == Status.DONE, item.message

    out = out_dir / "short_x4.mp4"
    assert out.is_file() and item.output == out
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (256, 192, 12)
    assert info.audio_streams == 1
    assert [p.name for p in out_dir.iterdir()] == ["short_x4.mp4"]  # no work folder left behind

    # the preview followed the job: both sides hold x4 frames
    left, right = w.preview.view.images()
    assert left is not None and right is not None and right.size().width() == 256
    assert w.progress.queue_bar.value() == 1000
    assert not w.controller.busy and not w.cancel_action.isEnabled()


def test_micro_model_preview_then_job_while_the_ui_keeps_ticking(make_window, qtbot, clips, micro_ckpt, tmp_path):
    """One user story, so the model is prepared (compiled) once: preview a chosen frame, then run the job."""
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_model_file(w, micro_ckpt, out_dir)
    add_and_wait(qtbot, w, clips["model"], expect=1)
    item = w.controller.model.item(0)
    assert item.prefs.model == str(micro_ckpt)

    # preview: pick frame 4 with the slider; the worker upscales only the chunk around it
    w.table.select_ids([item.id])
    w.preview.slider.setValue(4)
    qtbot.waitUntil(lambda: w._shown == (item.id, 4, True), timeout=MODEL_TIMEOUT_MS)
    assert w.preview.status_label.text() == "Frame 4"
    assert list(out_dir.iterdir()) == []  # a preview writes nothing

    # the compare view on screen: at 1:1 zoom each pane's centre shows its image's centre pixel
    view = w.preview.view
    left, right = view.images()
    assert left is not None and right is not None and left.size() == right.size() == QSize(128, 96)
    cx, cy = 64, 48
    assert pixel(left, cx, cy) != pixel(right, cx, cy)  # the model changed the picture there
    view.resize(2 * 128 + PANE_GAP + 40, 160)
    view.set_mode(SIDE)
    view.set_zoom(1.0)
    shot = view.grab().toImage()
    pane = (view.width() - PANE_GAP) // 2
    assert pixel(shot, pane // 2, view.height() // 2) == pixel(left, cx, cy)
    assert pixel(shot, pane + PANE_GAP + pane // 2, view.height() // 2) == pixel(right, cx, cy)
    view.set_mode(SPLIT)
    view.set_split(0.5)
    shot = view.grab().toImage()
    mid_x, y = view.width() // 2, view.height() // 2 + 20  # below the split line's handle
    assert pixel(shot, mid_x - 8, y) == pixel(left, cx - 8, cy + 20)
    assert pixel(shot, mid_x + 8, y) == pixel(right, cx + 8, cy + 20)

    # the job, with a timer on the UI thread that must keep firing while the model runs in the worker
    interval_ms = 20
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    start = time.monotonic()
    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.status in (Status.DONE, Status.FAILED), timeout=MODEL_TIMEOUT_MS)
    elapsed = time.monotonic() - start
    timer.stop()
    assert item.status == Status.DONE, item.message
    assert elapsed > 0.5  # long enough for the ticks to mean something
    gaps = np.diff(ticks)
    assert gaps.max() < 0.5, f"UI thread stalled for {gaps.max():.2f} s"
    assert len(ticks) >= 0.5 * elapsed / (interval_ms / 1000), f"{len(ticks)} ticks in {elapsed:.2f} s"

    # the output has the model's size, every frame and the audio; the preview followed the job
    out = out_dir / "model_x4.mp4"
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (128, 96, 6)
    assert info.audio_streams == 1
    assert [p.name for p in out_dir.iterdir()] == ["model_x4.mp4"]
    assert w._shown == (item.id, 5, True) and w.preview.frame == 5  # the job's last frame
    left, right = view.images()
    assert left is not None and right is not None and left.size() == right.size() and left != right


def test_preview_and_import_are_served_while_a_job_runs(make_window, qtbot, micro_ckpt, tmp_path, monkeypatch):
    """The job holds the model for minutes: a preview on the same model runs between its chunks (here
    while it is paused), an import runs beside it, and only a preview for another model waits."""
    import yaml
    from conftest import MICRO_ARCH

    busy = make_test_clip(tmp_path / "busy.mp4", 32, 24, 40, audio=False)
    other = make_test_clip(tmp_path / "other.mp4", 32, 24, 6, audio=False)
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_model_file(w, micro_ckpt, out_dir)
    w.form.chunk_spin.setValue(4)
    add_and_wait(qtbot, w, busy, expect=1)
    item = w.controller.model.item(0)

    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=MODEL_TIMEOUT_MS)
    w.pause_action.trigger()
    assert item.status == Status.PAUSED

    # a frame the job has not reached: upscaled on the job's loaded model while the job waits
    w.table.select_ids([item.id])
    w.preview.slider.setValue(33)
    qtbot.waitUntil(lambda: w._shown == (item.id, 33, True), timeout=MODEL_TIMEOUT_MS)
    assert item.status == Status.PAUSED and item.frames_done < 33
    assert not w.preview.follow  # picking a frame stopped following the job
    runs = [line for line in w.log_view.lines() if "preview of frame 33:" in line]
    assert len(runs) == 1 and "upscaled 4 frames" in runs[0], runs
    left, right = w.preview.view.images()
    assert left is not None and right is not None and left.size() == right.size() == QSize(128, 96)

    # an import does not wait for the job either
    pth = write_reference_pth(tmp_path / "micro.pth", MICRO_ARCH)
    arch = tmp_path / "micro.yaml"
    arch.write_text(yaml.safe_dump(MICRO_ARCH))
    answer_file_dialogs(monkeypatch, str(pth), str(arch))
    installed = tmp_path / "models" / "micro.ckpt"
    with qtbot.waitSignal(w.controller.modelReady, timeout=MODEL_TIMEOUT_MS) as ready:
        w.import_model_action.trigger()
    assert ready.args == [str(installed)] and installed.is_file()
    assert item.status == Status.PAUSED

    # a preview for another model says it waits, and comes once the job has ended
    w.table.clearSelection()  # the form edits the defaults for new jobs again
    use_bicubic(w, out_dir)
    add_and_wait(qtbot, w, other, expect=2)
    second = w.controller.model.item(1)
    w.table.select_ids([second.id])
    assert "waits for the running job" in w.preview.status_label.text()
    w.pause_action.trigger()  # Resume
    qtbot.waitUntil(lambda: item.status in (Status.DONE, Status.FAILED), timeout=MODEL_TIMEOUT_MS)
    assert item.status == Status.DONE, item.message
    assert probe(out_dir / "busy_x4.mp4").frame_count == 40
    qtbot.waitUntil(lambda: w._shown is not None and w._shown[0] == second.id and w._shown[2], timeout=JOB_TIMEOUT_MS)


FRESH_PROCESS_PREVIEW = """
import sys, time
from PySide6.QtCore import QCoreApplication, QEventLoop
from PySide6.QtWidgets import QApplication
from app.worker import Engine
from vrt_engine.job import JobSettings

app = QApplication([])
engine = Engine()
said = []
engine.capabilities.connect(lambda caps: said.append("capabilities"))
engine.previewReady.connect(lambda *args: said.append("preview"))
engine.previewFailed.connect(lambda _id, reason: said.append("failed: " + reason))

def wait_for(n):
    end = time.monotonic() + 240
    while len(said) < n and time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)

engine.query_capabilities()  # MindSpore's first use in this process, in the engine thread
wait_for(1)
engine.preview(1, sys.argv[2], 2, JobSettings(model=sys.argv[1], graph=False))  # the next slot: set_device
wait_for(2)
print(said, flush=True)
engine.shutdown()
"""


def test_mindspore_first_used_in_the_engine_thread_does_not_freeze_the_app(micro_ckpt, clips, tmp_path):
    """A fresh app process touches MindSpore first in the engine thread (discovery), then loads a model in
    a later slot: that froze the whole process (GIL) before the engine thread kept one Python thread state."""
    import subprocess
    import sys

    script = tmp_path / "fresh.py"
    script.write_text(FRESH_PROCESS_PREVIEW)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, str(script), str(micro_ckpt), str(clips["model"])],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "['capabilities', 'preview']" in result.stdout, result.stdout + result.stderr[-2000:]


def test_cancel_leaves_no_output_and_retry_resumes(make_window, qtbot, clips, tmp_path):
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    add_and_wait(qtbot, w, clips["long"], expect=1)
    item = w.controller.model.item(0)

    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)
    w.cancel_action.trigger()
    qtbot.waitUntil(lambda: not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    assert item.status == Status.CANCELLED
    out = out_dir / "long_x4.mp4"
    assert not out.exists()
    assert all(p.name.startswith(".") for p in out_dir.iterdir())  # only the hidden resume folder

    w.table.select_ids([item.id])
    w.retry_action.trigger()
    qtbot.waitUntil(lambda: item.status in (Status.DONE, Status.FAILED), timeout=JOB_TIMEOUT_MS)
    assert item.status == Status.DONE, item.message
    assert probe(out).frame_count == 96
    assert [p.name for p in out_dir.iterdir()] == ["long_x4.mp4"]


def test_pause_stops_the_frames_and_resume_finishes_every_frame(make_window, qtbot, tmp_path):
    clip = make_test_clip(tmp_path / "pause.mp4", 160, 120, 240, audio=False)
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    w.form.chunk_spin.setValue(4)  # a pause takes effect at the next chunk: keep chunks short
    add_and_wait(qtbot, w, clip, expect=1)
    item = w.controller.model.item(0)
    model = w.controller.model

    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)
    w.pause_action.trigger()
    assert item.status == Status.PAUSED
    assert model.data(model.index(0, model.STATUS)).startswith("Pausing")  # until its chunk in progress ends
    assert w.pause_action.text() == "&Resume"
    qtbot.wait(700)  # the chunk in flight may still finish
    stopped = item.frames_done
    qtbot.wait(1500)
    assert item.frames_done == stopped < 240, "frames kept coming while paused"
    assert item.status == Status.PAUSED and w.controller.busy
    assert "paused" in w.progress.job_stats.text()

    w.pause_action.trigger()  # Resume
    assert item.status == Status.RUNNING and w.pause_action.text() == "&Pause"
    qtbot.waitUntil(lambda: item.status in (Status.DONE, Status.FAILED), timeout=JOB_TIMEOUT_MS)
    assert item.status == Status.DONE, item.message
    assert item.frames_done == 240
    assert probe(out_dir / "pause_x4.mp4").frame_count == 240


def window_with_a_long_bicubic_job(make_window, qtbot, tmp_path):
    """A window holding one 240-frame clip queued for bicubic in 4-frame chunks (many chunks to pause between)."""
    clip = make_test_clip(tmp_path / "pause.mp4", 160, 120, 240, audio=False)
    w = make_window()
    use_bicubic(w, tmp_path)
    w.form.chunk_spin.setValue(4)
    add_and_wait(qtbot, w, clip, expect=1)
    return w, w.controller.model.item(0)


def test_status_bar_says_paused_once_the_pause_took_effect(make_window, qtbot, tmp_path):
    """A pause waits for the chunk in progress (minutes on a CPU): until then the app says "pausing", then
    "paused", with no stale speed or ETA; a second pause after a resume is reported again."""
    w, item = window_with_a_long_bicubic_job(make_window, qtbot, tmp_path)
    model = w.controller.model
    bar = w.statusBar()

    def status() -> str:
        return model.data(model.index(0, model.STATUS))

    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)
    for round_ in (1, 2):
        w.pause_action.trigger()
        # asked for: the chunk in progress still runs (the engine has not answered yet)
        assert bar.currentMessage() == "Pausing pause.mp4: it stops after the chunk in progress"
        assert status().startswith("Pausing")
        assert "pausing after this chunk" in w.progress.job_stats.text()
        # taken effect: the status bar, the table and both progress lines say so
        qtbot.waitUntil(lambda: bar.currentMessage() == "Paused pause.mp4; Resume continues it", timeout=10_000)
        assert status().startswith("Paused") and item.status == Status.PAUSED
        job_line, queue_line = w.progress.job_stats.text(), w.progress.queue_stats.text()
        assert "paused" in job_line and "fps" not in job_line and "ETA" not in job_line, job_line
        assert "paused" in queue_line and "fps" not in queue_line and "ETA" not in queue_line, queue_line
        paused_lines = [line for line in w.log_view.lines() if "paused pause.mp4 at frame" in line]
        assert len(paused_lines) == round_, w.log_view.lines()
        stopped = item.frames_done
        qtbot.wait(300)
        assert item.frames_done == stopped < 240

        w.pause_action.trigger()  # Resume
        assert bar.currentMessage() == "Resumed pause.mp4" and status().startswith("Running")
        qtbot.waitUntil(lambda stopped=stopped: item.frames_done > stopped, timeout=JOB_TIMEOUT_MS)
    assert item.frames_done < 240  # the second pause came while there was work left


def test_window_title_says_pausing_then_paused_and_drops_it_on_resume(make_window, qtbot, tmp_path):
    """The title (what the task bar shows of a hidden window) tells a paused job from a running one, in the
    status column's words: "Pausing" until the chunk in progress ends, then "Paused"."""
    w, item = window_with_a_long_bicubic_job(make_window, qtbot, tmp_path)
    assert w.windowTitle() == "VRT Upscaler"

    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)
    assert w.windowTitle() == f"{item.fraction:.0%} · pause.mp4 — VRT Upscaler"
    w.pause_action.trigger()
    assert w.windowTitle() == f"Pausing {item.fraction:.0%} · pause.mp4 — VRT Upscaler"
    took_effect: list[int] = []
    w.engine.jobPaused.connect(took_effect.append)
    qtbot.waitUntil(lambda: took_effect == [item.id], timeout=10_000)
    assert w.windowTitle() == f"Paused {item.fraction:.0%} · pause.mp4 — VRT Upscaler"

    w.pause_action.trigger()  # Resume
    assert w.windowTitle() == f"{item.fraction:.0%} · pause.mp4 — VRT Upscaler"
    w.cancel_action.trigger()
    assert w.windowTitle().startswith("Cancelling ")
    qtbot.waitUntil(lambda: not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    assert w.windowTitle() == "VRT Upscaler"


def test_progress_line_shows_no_live_speed_once_the_queue_stopped_or_finished(make_window, qtbot, clips, tmp_path):
    """After a cancel the queue's line says it stopped (no last fps and ETA left standing); the cancel itself
    is shown at once; after the queue's end the line says it finished."""
    w = make_window()
    use_bicubic(w, tmp_path)
    w.form.chunk_spin.setValue(4)
    third = tmp_path / "third.mp4"
    shutil.copy(clips["short"], third)
    add_and_wait(qtbot, w, clips["short"], clips["long"], third, expect=3)
    first, long_item, last = w.controller.model.items()
    model = w.controller.model
    stats = w.progress.queue_stats

    w.start_action.trigger()
    qtbot.waitUntil(lambda: long_item.frames_done > 0, timeout=JOB_TIMEOUT_MS)
    assert first.status == Status.DONE
    assert " fps · ETA " in stats.text(), stats.text()  # live while a job runs

    w.cancel_action.trigger()
    assert model.data(model.index(1, model.STATUS)).startswith("Cancelling")  # until its chunk in progress ends
    assert "cancelling after this chunk" in w.progress.job_stats.text()
    qtbot.waitUntil(lambda: not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    assert long_item.status == Status.CANCELLED and last.status == Status.WAITING
    text = stats.text()
    assert text.startswith("12 / 24 frames · stopped · elapsed "), text
    assert "fps" not in text and "ETA" not in text
    assert w.progress.job_stats.text() == ""

    w.start_action.trigger()  # the waiting job runs; the cancelled one stays out
    qtbot.waitUntil(lambda: last.status == Status.DONE and not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    text = stats.text()
    assert text.startswith("24 / 24 frames · finished · elapsed "), text
    assert "fps" not in text


def test_preview_of_a_frame_runs_only_the_chunk_around_it(make_window, qtbot, tmp_path):
    clip = make_test_clip(tmp_path / "sixty.mp4", 64, 48, 60, audio=False)
    w = make_window()
    use_bicubic(w, tmp_path / "out")
    w.form.chunk_spin.setValue(6)
    add_and_wait(qtbot, w, clip, expect=1)
    item = w.controller.model.item(0)
    w.table.select_ids([item.id])
    w.preview.slider.setValue(40)
    qtbot.waitUntil(lambda: w._shown == (item.id, 40, True), timeout=JOB_TIMEOUT_MS)
    runs = [line for line in w.log_view.lines() if "preview of frame 40:" in line]
    assert len(runs) == 1, w.log_view.lines()
    upscaled = int(runs[0].split("upscaled ")[1].split()[0])
    assert 0 < upscaled <= 6, runs[0]  # one chunk of the 60 frames
    assert not (tmp_path / "out").exists()  # nothing written

    # another frame, another item, then back: the item reopens on frame 40, shown at once from the cache
    w.preview.slider.setValue(20)
    qtbot.waitUntil(lambda: w._shown == (item.id, 20, True), timeout=JOB_TIMEOUT_MS)
    other = tmp_path / "other.mp4"
    shutil.copy(clip, other)
    add_and_wait(qtbot, w, other, expect=2)
    second = w.controller.model.item(1)
    w.table.select_ids([second.id])
    qtbot.waitUntil(lambda: w._shown is not None and w._shown[0] == second.id and w._shown[2], timeout=JOB_TIMEOUT_MS)
    w.table.select_ids([item.id])
    assert w.preview.frame == 20 and w._shown == (item.id, 20, True)
    w.preview.slider.setValue(40)  # (the slider's choice lands after a short debounce)
    qtbot.waitUntil(lambda: w._shown == (item.id, 40, True), timeout=2_000)
    assert w.preview.status_label.text() == "Frame 40"
    qtbot.wait(300)

    def runs_of_40() -> int:
        return len([line for line in w.log_view.lines() if "preview of frame 40:" in line])

    assert runs_of_40() == 1
    # other settings are another picture: the preview runs again
    w.form.chunk_spin.setValue(4)
    qtbot.waitUntil(lambda: runs_of_40() == 2, timeout=JOB_TIMEOUT_MS)


def test_retry_runs_only_the_retried_job(make_window, qtbot, clips, tmp_path):
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    other_clip = tmp_path / "other.mp4"
    shutil.copy(clips["short"], other_clip)
    add_and_wait(qtbot, w, clips["short"], other_clip, expect=2)
    first, other = w.controller.model.items()
    w.controller.set_item_prefs([first.id], JobPrefs(model=str(tmp_path / "missing.ckpt"), output_folder=str(out_dir)))

    w.table.select_ids([first.id])
    w.start_item_action.trigger()
    qtbot.waitUntil(lambda: first.status == Status.FAILED and not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    assert other.status == Status.WAITING  # "Start selected now" ran only the selected job
    assert w.table.selected_ids() == [first.id] and w.retry_action.isEnabled()

    w.controller.set_item_prefs([first.id], JobPrefs(model="bicubic", output_folder=str(out_dir)))
    assert "only them" in w.retry_action.toolTip()
    w.retry_action.trigger()
    qtbot.waitUntil(lambda: first.status in (Status.DONE, Status.FAILED) and not w.controller.busy, timeout=10000)
    assert first.status == Status.DONE, first.message
    qtbot.wait(300)
    assert other.status == Status.WAITING and not w.controller.busy  # the rest of the queue did not start
    assert [p.name for p in out_dir.iterdir()] == ["short_x4.mp4"]


def test_failure_shows_reason_and_queue_goes_on(make_window, qtbot, clips, tmp_path):
    w = make_window()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    second = tmp_path / "second.mp4"
    shutil.copy(clips["short"], second)
    add_and_wait(qtbot, w, clips["short"], second, expect=2)
    first, other = w.controller.model.items()
    missing = tmp_path / "missing.ckpt"
    w.controller.set_item_prefs([first.id], JobPrefs(model=str(missing), output_folder=str(out_dir)))

    w.start_action.trigger()
    qtbot.waitUntil(lambda: other.status == Status.DONE, timeout=JOB_TIMEOUT_MS)
    assert first.status == Status.FAILED
    assert "no such model file" in first.message
    box = w.error_box
    assert box is not None and box.isVisible() and not box.isModal()
    assert "no such model file" in box.informativeText()
    assert any("failed" in line and "missing.ckpt" in line for line in w.log_view.lines())

    # fix the job's settings in the form (the job is selected) and retry it
    w.table.select_ids([first.id])
    assert w.form.title.text() == "Job: short.mp4"
    w.form.model_combo.setCurrentIndex(w.form.model_combo.findData("bicubic"))
    assert first.prefs.model == "bicubic" and w.controller.defaults.model == "bicubic"
    w.retry_action.trigger()
    qtbot.waitUntil(lambda: first.status in (Status.DONE, Status.FAILED), timeout=JOB_TIMEOUT_MS)
    assert first.status == Status.DONE, first.message


def test_reorder_remove_and_skip(make_window, qtbot, clips, tmp_path):
    w = make_window()
    use_bicubic(w, tmp_path)
    paths = []
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        shutil.copy(clips["short"], tmp_path / name)
        paths.append(tmp_path / name)
    add_and_wait(qtbot, w, *paths, expect=3)
    model = w.controller.model

    def names() -> list[str]:
        return [it.name for it in model.items()]

    w.table.select_ids([model.item(2).id])
    w.move_up_action.trigger()
    assert names() == ["a.mp4", "c.mp4", "b.mp4"]
    w.move_up_action.trigger()
    assert names() == ["c.mp4", "a.mp4", "b.mp4"]
    w.move_down_action.trigger()
    assert names() == ["a.mp4", "c.mp4", "b.mp4"]
    model.move_to([model.item(0).id], 3)  # what a drag to the end does
    assert names() == ["c.mp4", "b.mp4", "a.mp4"]

    w.table.select_ids([model.item(1).id])
    w.remove_action.trigger()
    assert names() == ["c.mp4", "a.mp4"]
    w.table.select_ids([model.item(0).id])
    w.cancel_item_action.trigger()  # a waiting job is skipped
    assert model.item(0).status == Status.CANCELLED
    w.start_action.trigger()
    qtbot.waitUntil(lambda: model.item(1).status == Status.DONE, timeout=JOB_TIMEOUT_MS)
    assert model.item(0).status == Status.CANCELLED


def test_close_during_run_asks_then_cancels_cleanly(make_window, qtbot, clips, tmp_path):
    answers = [False, True]
    asked: list[str] = []

    def confirm(title: str, _text: str) -> bool:
        asked.append(title)
        return answers.pop(0)

    w = make_window(confirm=confirm)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    use_bicubic(w, out_dir)
    add_and_wait(qtbot, w, clips["long"], expect=1)
    item = w.controller.model.item(0)
    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)

    w.close()  # "keep running"
    assert w.isVisible() and w.controller.busy
    w.close()  # "cancel job and quit"
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=JOB_TIMEOUT_MS)
    assert len(asked) == 2
    assert item.status == Status.CANCELLED
    assert not any(t.isRunning() for t in (w.engine.engine_thread, w.engine.io_thread, w.engine.import_thread))
    assert not (out_dir / "long_x4.mp4").exists()
    assert all(p.name.startswith(".") for p in out_dir.iterdir())


def test_enter_in_the_quit_question_keeps_the_job_running(make_window, qtbot, clips, tmp_path):
    w = make_window(confirm=None)  # the real question box
    use_bicubic(w, tmp_path)
    w.form.chunk_spin.setValue(4)
    add_and_wait(qtbot, w, clips["long"], expect=1)
    item = w.controller.model.item(0)
    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.frames_done > 0, timeout=JOB_TIMEOUT_MS)

    seen: list[str] = []

    def press_enter() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(50, press_enter)
            return
        seen.append(box.defaultButton().text())
        qtbot.keyClick(box, Qt.Key.Key_Return)

    QTimer.singleShot(50, press_enter)
    w.close()  # returns once the box is answered
    assert seen == ["Keep running"]
    assert w.isVisible() and w.controller.busy and item.status != Status.CANCELLED


def write_reference_pth(path: Path, arch: str | dict) -> Path:
    """A .pth in the authors' torch zip layout with random weights for this architecture."""
    from test_weights import _as_reference_state

    from vrt_engine.model import build_model
    from vrt_engine.torchfile import write_state_dict

    write_state_dict(path, _as_reference_state(build_model(arch), np.random.default_rng(0)), wrapper="params")
    return path


def answer_file_dialogs(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Qt's file dialog answers these paths in turn ("" is Cancel); returns the dialogs' titles."""
    titles: list[str] = []
    queue = list(answers)

    def get_open_file_name(_parent, title="", _dir="", _filter="", *_args, **_kwargs):
        titles.append(title)
        return queue.pop(0), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(get_open_file_name))
    return titles


def test_importing_a_presets_pth_installs_that_preset(make_window, qtbot, tmp_path, monkeypatch):
    """A .pth with a preset's architecture becomes that named model (here tiny: REDS works the same way)."""
    pth = write_reference_pth(tmp_path / "my_tiny_weights.pth", "tiny")
    w = make_window()
    qtbot.waitUntil(lambda: w._capabilities is not None, timeout=MODEL_TIMEOUT_MS)
    combo = w.form.model_combo
    combo.setCurrentIndex(combo.findData("bicubic"))  # so that the import visibly picks the new model
    answer_file_dialogs(monkeypatch, str(pth))
    with qtbot.waitSignal(w.controller.modelReady, timeout=MODEL_TIMEOUT_MS) as ready:
        w.import_model_action.trigger()  # File > Import model…
    assert ready.args == ["tiny"]
    installed = tmp_path / "models" / "tiny.ckpt"
    assert installed.is_file() and w.controller.defaults.model == "tiny"
    assert combo.currentData() == "tiny"
    assert "not installed" not in combo.currentText()
    assert "tiny" in w._capabilities.models
    assert combo.findData(str(installed)) < 0  # offered by its name, not as a stray file
    assert sorted(p.name for p in installed.parent.iterdir()) == ["tiny.ckpt"]  # no staging file left


def test_importing_another_architecture_asks_for_its_yaml(make_window, qtbot, tmp_path, monkeypatch):
    import yaml
    from conftest import MICRO_ARCH

    pth = write_reference_pth(tmp_path / "micro.pth", MICRO_ARCH)
    arch = tmp_path / "micro.yaml"
    arch.write_text(yaml.safe_dump(MICRO_ARCH))
    w = make_window()
    titles = answer_file_dialogs(monkeypatch, str(pth), "", str(pth), str(arch))

    # first time the user closes the architecture dialog: nothing is imported, and the reason says what to do
    w.import_model_action.trigger()
    qtbot.waitUntil(lambda: len(titles) == 2, timeout=MODEL_TIMEOUT_MS)
    assert "micro.pth" in titles[1] and "architecture" in titles[1]
    message = w.statusBar().currentMessage()
    assert "architecture file" in message and "--" not in message
    assert not any(p.suffix == ".ckpt" for p in (tmp_path / "models").glob("*"))

    # second time they choose the YAML: the model is converted and chosen
    installed = tmp_path / "models" / "micro.ckpt"
    with qtbot.waitSignal(w.controller.modelReady, timeout=MODEL_TIMEOUT_MS) as ready:
        w.import_model_action.trigger()
    assert ready.args == [str(installed)] and w.controller.defaults.model == str(installed)
    assert installed.is_file() and w.form.model_combo.currentData() == str(installed)


def test_bad_model_import_is_reported(make_window, qtbot, tmp_path):
    w = make_window()
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"this is not a torch file")
    w.controller.use_model_file(str(bad))
    qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible(), timeout=JOB_TIMEOUT_MS)
    assert "broken.pth" in w.error_box.text()
    ckpt = tmp_path / "mine.ckpt"
    ckpt.write_bytes(b"")
    w.controller.use_model_file(str(ckpt))  # a .ckpt is offered as is
    assert w.form.model_combo.currentData() == str(ckpt)
    assert w.controller.defaults.model == str(ckpt)


# ---------------------------------------------------------------------------------------------- compare view
def test_compare_view_puts_each_source_in_its_half(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    view.set_images(solid("#ff0000"), solid("#0000ff"))
    view.set_message("")

    view.set_mode(SPLIT)
    img = view.grab().toImage()
    assert pixel(img, 100, 120) == (255, 0, 0)
    assert pixel(img, 300, 120) == (0, 0, 255)

    view.set_mode(SIDE)
    img = view.grab().toImage()
    assert pixel(img, 100, 120) == (255, 0, 0)
    assert pixel(img, 300, 120) == (0, 0, 255)

    # drag the split line to a quarter: the right image now shows from x=100
    view.set_mode(SPLIT)
    for kind, x, buttons in (
        (QMouseEvent.Type.MouseButtonPress, 200, Qt.MouseButton.LeftButton),
        (QMouseEvent.Type.MouseMove, 100, Qt.MouseButton.LeftButton),
        (QMouseEvent.Type.MouseButtonRelease, 100, Qt.MouseButton.NoButton),
    ):
        pos = QPointF(x, 100)
        QApplication.sendEvent(
            view,
            QMouseEvent(
                kind, pos, view.mapToGlobal(pos), Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier
            ),
        )
    assert view.split == pytest.approx(0.25)
    img = view.grab().toImage()
    assert pixel(img, 80, 120) == (255, 0, 0)
    assert pixel(img, 150, 120) == (0, 0, 255)


def wheel(widget: QWidget, pos: QPoint, steps: int) -> None:
    """A real mouse-wheel event (pytest-qt has no wheel helper)."""
    p = QPointF(pos)
    event = QWheelEvent(
        p,
        widget.mapToGlobal(p),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_compare_view_zoom_and_pan_stay_in_sync(qtbot):
    """Wheel-zoom and drag in the left pane: the right pane shows the same place of its image."""
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(404, 200)
    view.show()
    qtbot.waitExposed(view)
    left = solid("#ff0000", 100, 100)
    right = solid("#0000ff", 100, 100)
    left.setPixelColor(0, 0, QColor("#00ff00"))  # a marker in the top-left corner of both images
    right.setPixelColor(0, 0, QColor("#00ff00"))
    view.set_images(left, right)
    view.set_mode(SIDE)
    assert view.zoom() == pytest.approx(2.0)  # fit: 100 px into a 200 px pane

    centre = QPoint(100, 100)  # of the left pane
    wheel(view, centre, 3)  # zooms around the cursor: the image's centre stays under it
    z = view.zoom()
    assert z == pytest.approx(2.0 * 1.25**3)
    # drag the marker's middle (image point 0.5, 0.5, now 49.5 * z pixels up-left of the centre) to the centre
    offset = round(49.5 * z)
    start = centre - QPoint(offset, offset)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, start + QPoint(offset // 2, offset // 2))
    qtbot.mouseMove(view, centre)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=centre)

    img = view.grab().toImage()
    assert pixel(img, 100, 100) == (0, 255, 0)  # centre of the left pane
    assert pixel(img, 304, 100) == (0, 255, 0)  # centre of the right pane: the same place of its image
    assert pixel(img, 100 + round(2 * z), 100) == (255, 0, 0)  # two image pixels on: the plain left image
    assert pixel(img, 304 + round(2 * z), 100) == (0, 0, 255)
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=centre)  # double-click fits again
    assert view.zoom() == pytest.approx(2.0)


def test_actual_pixels_zoom_accounts_for_the_device_pixel_ratio(qtbot):
    assert actual_pixels_zoom(1.0) == 1.0
    assert actual_pixels_zoom(2.0) == 0.5
    assert actual_pixels_zoom(1.5) == pytest.approx(2 / 3)
    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.view.set_images(solid("#ff0000", 100, 100), None)
    panel.zoom_one_button.click()
    assert panel.view.zoom() == pytest.approx(1 / panel.view.devicePixelRatioF())
    assert panel.zoom_label.text() == "100%"


HIGH_DPI_WINDOW = """
import json, sys
from PySide6.QtGui import QImage, QColor
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import MainWindow
from app.settings import AppSettings
w = MainWindow(AppSettings(sys.argv[1]), confirm=lambda *a: True)
w.show()
app.processEvents()
img = QImage(64, 64, QImage.Format.Format_RGB888)
for x in range(64):
    for y in range(64):
        img.setPixelColor(x, y, QColor("#ffffff" if x % 2 else "#000000"))
view = w.preview.view
view.set_images(img, img)
view.set_split(1.0)
w.one_action.trigger()
shot = view.grab().toImage()
cx, cy = shot.width() // 2, shot.height() // 2 + 16
row = [shot.pixelColor(x, cy).red() for x in range(cx - 8, cx + 8)]
avail = w.screen().availableGeometry()
print(json.dumps(dict(
    dpr=w.devicePixelRatioF(), size=[w.width(), w.height()], fits=avail.contains(w.frameGeometry()),
    zoom=view.zoom(), label=w.preview.zoom_label.text(), shot_dpr=shot.devicePixelRatio(), row=row,
)))
w.close()
"""


def test_default_size_and_actual_pixels_on_a_small_high_dpi_screen(tmp_path):
    """A 1024x768 screen at 200 %: the window opens at 92 % of it, and 1:1 maps image to physical pixels."""
    import json
    import subprocess
    import sys

    config = tmp_path / "screen.json"
    # 2048x1536 physical pixels at 192 dpi: Qt scales by 2, a 1024x768 screen in logical pixels
    screen = dict(name="s", x=0, y=0, width=2048, height=1536, logicalDpi=192, logicalBaseDpi=96)
    config.write_text(json.dumps({"screens": [screen]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", HIGH_DPI_WINDOW, str(tmp_path / "settings.ini")],
        env=env, cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["dpr"] == 2.0 and got["shot_dpr"] == 2.0
    assert got["size"] == [942, 706]  # 92 % of the screen: the preferred 1280x860 does not fit
    assert got["fits"]
    assert got["zoom"] == 0.5 and got["label"] == "100%"
    row = got["row"]
    assert all(a != b for a, b in zip(row, row[1:])), row  # every physical pixel is the next image column


# ---------------------------------------------------------------------------------------------- preferences and looks
def test_settings_survive_a_restart(make_window, qtbot, tmp_path):
    path = tmp_path / "prefs.ini"
    w1 = make_window(path)
    form = w1.form
    form.model_combo.setCurrentIndex(form.model_combo.findData("bicubic"))
    form.codec_combo.setCurrentIndex(form.codec_combo.findData("vp9"))
    form.crf_spin.setValue(30)
    form.tile_spin.setValue(256)
    form.chunk_spin.setValue(6)
    form.audio_box.setChecked(False)
    form.folder_edit.setText(str(tmp_path))
    w1.side_action.trigger()
    w1.resize(900, 700)
    w1.left_splitter.setSizes([120, 300, 140])
    sizes = w1.left_splitter.sizes()
    expected = JobPrefs(
        model="bicubic", codec="vp9", crf=30, tile=256, chunk=6, keep_audio=False, output_folder=str(tmp_path)
    )
    assert w1.controller.defaults == expected
    w1.close()
    qtbot.waitUntil(lambda: not w1.isVisible(), timeout=10_000)

    assert AppSettings(path).job_defaults() == expected
    w2 = make_window(path)
    assert w2.form.prefs() == expected
    assert w2.controller.defaults == expected
    assert w2.preview.view.mode == SIDE and w2.side_action.isChecked()
    assert w2.height() == 700  # (the offscreen screen is 800 px wide: the width is clamped to it)
    assert w2.left_splitter.sizes() == sizes


def test_new_jobs_default_to_the_built_in_model(tmp_path):
    from vrt_engine.models_dir import BUILTIN_MODEL

    assert AppSettings(tmp_path / "fresh.ini").job_defaults().model == BUILTIN_MODEL == "tiny"


def test_progress_panel_shows_speed_eta_and_elapsed(qtbot, clips):
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.show_queue(QueueProgress(120, 300, 1, 3, elapsed=4.0, fps=30.0, eta=6.0))
    assert panel.queue_stats.text() == "120 / 300 frames · 30.0 fps · ETA 0:06 · elapsed 0:04"
    assert panel.queue_label.text() == "Queue: 1 of 3 done"
    assert panel.queue_bar.value() == 400
    panel.show_queue(QueueProgress(300, 300, 3, 3, elapsed=10.0, fps=30.0, eta=0.0))
    assert panel.queue_stats.text() == "300 / 300 frames · 30.0 fps · elapsed 0:10"
    panel.show_queue(QueueProgress(0, 300, 0, 3))
    assert panel.queue_stats.text() == "0 / 300 frames"  # nothing has run: no speed to tell

    # no job runs, or it waits paused: its last speed and time left are not shown as if live
    panel.show_queue(QueueProgress(120, 300, 1, 3, elapsed=4.0, fps=30.0, eta=6.0, state=STOPPED))
    assert panel.queue_stats.text() == "120 / 300 frames · stopped · elapsed 0:04"
    panel.show_queue(QueueProgress(120, 300, 1, 3, elapsed=4.0, fps=30.0, eta=6.0, state=PAUSED))
    assert panel.queue_stats.text() == "120 / 300 frames · paused · elapsed 0:04"
    panel.show_queue(QueueProgress(300, 300, 3, 3, elapsed=10.0, fps=30.0, eta=0.0, state=STOPPED))
    assert panel.queue_stats.text() == "300 / 300 frames · finished · elapsed 0:10"

    item = QueueItem(clips["short"], probe(clips["short"]), JobPrefs())
    item.status, item.frames_done, item.fps, item.eta, item.elapsed = Status.RUNNING, 6, 3.0, 2.0, 65.0
    panel.show_job(item)
    assert panel.job_stats.text() == "6 / 12 frames · 3.0 fps · ETA 0:02 · elapsed 1:05"
    item.status, item.pending = Status.PAUSED, "pausing"
    panel.show_job(item)
    assert panel.job_stats.text() == "6 / 12 frames · 3.0 fps · ETA 0:02 · elapsed 1:05 · pausing after this chunk"
    item.pending = ""
    panel.show_job(item)
    assert panel.job_stats.text() == "6 / 12 frames · paused · elapsed 1:05"


def test_queue_numbers_come_from_the_jobs(make_window, qtbot, clips, tmp_path):
    w = make_window()
    use_bicubic(w, tmp_path)
    add_and_wait(qtbot, w, clips["short"], expect=1)
    item = w.controller.model.item(0)
    w.start_action.trigger()
    qtbot.waitUntil(lambda: item.status == Status.DONE, timeout=JOB_TIMEOUT_MS)
    q = w.controller.overall()
    assert (q.frames_done, q.frames_total, q.jobs_done, q.jobs_total) == (12, 12, 1, 1)
    assert q.elapsed > 0 and q.fps == pytest.approx(12 / q.elapsed)
    qtbot.waitUntil(lambda: not w.controller.busy, timeout=JOB_TIMEOUT_MS)
    assert w.progress.queue_stats.text().startswith("12 / 12 frames · finished · elapsed ")


def test_file_open_adds_the_chosen_videos(make_window, qtbot, clips, monkeypatch):
    chosen = [str(clips["short"]), str(clips["model"])]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *_args, **_kw: (chosen, "")))
    w = make_window()
    w.open_action.trigger()
    qtbot.waitUntil(lambda: w.controller.model.rowCount() == 2 and not w.controller.probing, timeout=10_000)
    assert [str(it.path) for it in w.controller.model.items()] == chosen
    assert w.settings.value("files/last_dir") == str(clips["short"].parent)


def test_colours_follow_a_switch_to_a_dark_palette(make_window, qtbot):
    w = make_window()
    qtbot.waitUntil(lambda: w._capabilities is not None, timeout=MODEL_TIMEOUT_MS)
    w.log_view.append_line("disk almost full", "warning")
    w.form.set_models([], [])  # as on a machine without the built-in weights: choosing tiny shows a warning
    w.form.model_combo.setCurrentIndex(w.form.model_combo.findData("tiny"))
    assert not w.form.model_warning.isHidden()

    def log_colour() -> str:
        block = w.log_view.document().lastBlock()
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if "disk almost full" in fragment.text():
                return fragment.charFormat().foreground().color().name()
            it += 1
        raise AssertionError("line not found")

    assert log_colour() == "#8a5a00" and "#8a5a00" in w.form.model_warning.styleSheet()
    app = QApplication.instance()
    light = app.palette()
    try:
        app.setPalette(dark_palette())
        qtbot.waitUntil(lambda: log_colour() == "#e3b341", timeout=5_000)
        assert "#e3b341" in w.form.model_warning.styleSheet()
        assert w.log_view.lines()[-1].endswith("disk almost full")  # no line lost in the redraw
    finally:
        app.setPalette(light)


def test_status_icons_contrast_with_the_table_on_light_and_dark_palettes(qtbot, clips):
    """The finished states' icons must be seen on the table's base colour, light or dark (the style's black
    stop square vanished on a dark palette)."""
    info = probe(clips["short"])
    model = QueueModel()
    statuses = (Status.CANCELLED, Status.DONE, Status.FAILED)
    for status in statuses:
        item = QueueItem(clips["short"], info, JobPrefs())
        item.status = status
        model.add(item)
    table = QueueTable(model)
    qtbot.addWidget(table)
    table.resize(900, 200)
    table.show()
    qtbot.waitExposed(table)

    def icon_colour(row: int) -> QColor:
        """The mean colour of the icon's opaque pixels, as the table gets it from the model."""
        icon = model.data(model.index(row, QueueModel.STATUS), Qt.ItemDataRole.DecorationRole)
        assert icon is not None and not icon.isNull(), statuses[row]
        image = icon.pixmap(16, 16).toImage()
        seen = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
        opaque = [c for c in seen if c.alpha() > 128]
        assert len(opaque) > 20, statuses[row]
        n = len(opaque)
        return QColor(
            round(sum(c.red() for c in opaque) / n),
            round(sum(c.green() for c in opaque) / n),
            round(sum(c.blue() for c in opaque) / n),
        )

    app = QApplication.instance()
    original = app.palette()
    try:
        for name, palette in (("light", app.style().standardPalette()), ("dark", dark_palette())):
            app.setPalette(palette)
            base = palette.color(QPalette.ColorRole.Base)
            qtbot.waitUntil(lambda base=base: table.palette().color(QPalette.ColorRole.Base) == base, timeout=5_000)
            for row, status in enumerate(statuses):
                ratio = contrast(icon_colour(row), base)
                assert ratio >= 3.0, f"{status} icon on the {name} palette: contrast {ratio:.2f}"
            # and on screen: the cancelled row's icon (left of its words) has pixels that stand out
            table.viewport().repaint()
            shot = table.viewport().grab().toImage()
            cell = table.visualRect(model.index(0, QueueModel.STATUS))
            standing_out = sum(
                contrast(shot.pixelColor(x, y), base) >= 3.0
                for x in range(cell.left(), cell.left() + 20)  # the icon; the words start further right
                for y in range(cell.top(), cell.bottom())
            )
            assert standing_out >= 30, f"cancelled icon hardly visible on the {name} palette"
    finally:
        app.setPalette(original)


def test_toolbar_icons_contrast_with_the_toolbar_on_light_and_dark_palettes(make_window, qtbot, clips):
    """Fusion draws its play, pause, stop and arrow icons black: unseen on a dark toolbar. They must take the
    palette's text colour, and follow a switch between light and dark."""
    w = make_window()
    add_and_wait(qtbot, w, clips["short"], expect=1)
    w.table.select_ids([w.controller.model.item(0).id])
    toolbar = w.toolbar
    glyphs = (w.start_action, w.pause_action, w.cancel_action, w.move_up_action, w.move_down_action)
    assert all(a in toolbar.actions() for a in glyphs)

    def mean_colour(action) -> QColor:
        """The mean colour of the icon's opaque pixels at the toolbar's size."""
        image = action.icon().pixmap(toolbar.iconSize(), 1.0).toImage()
        opaque = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
        opaque = [c for c in opaque if c.alpha() > 128]
        assert len(opaque) > 20, action.text()
        n = len(opaque)
        return QColor(*(round(sum(getattr(c, part)() for c in opaque) / n) for part in ("red", "green", "blue")))

    app = QApplication.instance()
    original = app.palette()
    try:
        for name, palette in (("light", app.style().standardPalette()), ("dark", dark_palette())):
            app.setPalette(palette)
            background = palette.color(QPalette.ColorRole.Window)
            qtbot.waitUntil(
                lambda bg=background: toolbar.palette().color(QPalette.ColorRole.Window) == bg, timeout=5_000
            )
            for action in glyphs:
                ratio = contrast(mean_colour(action), background)
                assert ratio >= 3.0, f"{action.text()} icon on the {name} palette: contrast {ratio:.2f}"
            # and on screen: every enabled toolbar button's icon (left of its words) has pixels that stand out
            for action in toolbar.actions():
                if action.icon().isNull() or not action.isEnabled():
                    continue
                button = toolbar.widgetForAction(action)
                button.repaint()
                shot = button.grab().toImage()
                icon_width = toolbar.iconSize().width() + 4  # the words start further right
                standing_out = sum(
                    contrast(shot.pixelColor(x, y), background) >= 3.0
                    for x in range(min(icon_width, shot.width()))
                    for y in range(shot.height())
                )
                assert standing_out >= 20, f"{action.text()} icon hardly visible on the {name} palette"
    finally:
        app.setPalette(original)


def test_every_control_has_a_tooltip_and_shortcuts_exist(make_window):
    w = make_window()
    kinds = (
        QAbstractButton,
        QComboBox,
        QAbstractSpinBox,
        QSlider,
        QLineEdit,
        QAbstractItemView,
        QProgressBar,
        QPlainTextEdit,
        CompareView,
        DropZone,
    )
    missing = []
    for child in w.findChildren(QWidget):
        if not isinstance(child, kinds) or isinstance(child, QHeaderView):
            continue
        if child.objectName().startswith("qt_") or isinstance(child.parent(), QAbstractSpinBox | QLineEdit):
            continue
        if isinstance(child, QAbstractItemView) and isinstance(child.parent().parent(), QComboBox):
            continue  # a combo box's own popup list
        if not child.toolTip().strip():
            missing.append(f"{type(child).__name__} {child.objectName()!r} {getattr(child, 'text', lambda: '')()!r}")
    assert not missing, missing

    def keys(action) -> set[str]:
        return {k.toString() for k in action.shortcuts()}

    assert QKeySequence("Ctrl+O").toString() in keys(w.open_action)
    assert {"Ctrl+Return"} <= keys(w.start_action)
    assert keys(w.cancel_action) == {"Ctrl+."}  # not Esc: one stray key must not stop an hour of work
    assert not w.windowIcon().isNull()
