"""Make the app's screenshots: main_window.png, compare.png, settings.png (and a dark variant).

Run under a real X server, e.g.::

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_screenshots.py

It builds a few synthetic clips, fills the queue (one job failed, one done, one paused mid-run,
two waiting), picks a frame for the preview, grabs the widgets, then cancels the paused job cleanly.
Everything happens in a temporary folder with its own preferences file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.main_window import MainWindow  # noqa: E402
from app.settings import AppSettings, JobPrefs  # noqa: E402
from app.widgets.queue_table import Status  # noqa: E402
from vrt_engine.video import make_test_clip  # noqa: E402

OUT = Path(__file__).resolve().parent


def pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def wait_for(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there in time")
        pump(0.05)


def dark_palette() -> QPalette:
    """A dark palette like the system's dark mode, to check the custom-drawn parts read on it."""
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2b2e",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e20",
        QPalette.ColorRole.AlternateBase: "#26262a",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#35353a",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#3d7be0",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#35353a",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.PlaceholderText: "#8a8a90",
        QPalette.ColorRole.Mid: "#5a5a60",
        QPalette.ColorRole.Dark: "#18181a",
        QPalette.ColorRole.Light: "#4a4a50",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#77777c"))
    return p


def grab(widget: QWidget, name: str) -> None:
    pump(0.3)
    path = OUT / name
    widget.grab().save(str(path))
    print("saved", path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-dark", action="store_true", help="skip the dark-palette screenshot")
    args = parser.parse_args()

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory(prefix="vrt-shots-") as tmp:
        tmp_path = Path(tmp)
        clips = tmp_path / "clips"
        out = tmp_path / "upscaled"
        clips.mkdir()
        out.mkdir()
        inputs = [
            make_test_clip(clips / "family_holiday_1998.mp4", 96, 72, 30, audio=True),
            make_test_clip(clips / "beach_sunset.mp4", 160, 90, 24, audio=True),
            make_test_clip(clips / "city_walk.mkv", 320, 180, 240, audio=True),
            make_test_clip(clips / "interview_take2.mov", 240, 180, 150, audio=True),
            make_test_clip(clips / "drone_flyover.webm", 256, 144, 120, audio=False),
        ]
        settings = AppSettings(tmp_path / "settings.ini")
        settings.set_job_defaults(JobPrefs(model="bicubic", output_folder=str(out)))
        w = MainWindow(settings)
        w.resize(1440, 900)
        w.show()
        w.add_paths([str(p) for p in inputs])
        wait_for(lambda: w.controller.model.rowCount() == len(inputs) and not w.controller.probing)
        wait_for(lambda: w.engine_label.text() != "Engine: starting…")
        c = w.controller
        items = c.model.items()
        # the first one asks for the built-in model: without its weights it fails with the engine's reason
        c.set_item_prefs([items[0].id], JobPrefs(model="tiny", output_folder=str(out)))
        c.start()
        wait_for(lambda: items[2].status in (Status.RUNNING, Status.PAUSED) and items[2].fraction > 0.4)
        c.pause()
        wait_for(lambda: items[2].status == Status.PAUSED)
        if w.error_box is not None:
            w.error_box.close()
        pump(1.0)
        w.table.clearSelection()
        w.preview.view.set_zoom(w.preview.view.zoom())  # settle the zoom label
        grab(w, "main_window.png")

        # compare: a chosen frame of the interview clip, zoomed in around the split line
        w.table.select_ids([items[3].id])
        w.preview.set_mode("split")
        c.cancel()  # previews wait for the running job; stop it (its finished segments stay for a resume)
        wait_for(lambda: not c.busy)
        w.preview.slider.setValue(60)
        wait_for(lambda: w._shown is not None and w._shown[1] == 60 and w._shown[2])
        view = w.preview.view
        view.set_zoom(2.0)
        view.set_split(0.5)
        preview_box = w.preview.parentWidget()
        grab(preview_box, "compare.png")

        # settings: the defaults for new jobs
        w.table.clearSelection()
        grab(w.form_scroll.parentWidget(), "settings.png")

        if not args.no_dark:
            app.setPalette(dark_palette())
            pump(0.5)
            w.table.select_ids([items[3].id])
            grab(w, "main_window_dark.png")
            app.setPalette(app.style().standardPalette())

        QTimer.singleShot(0, w.close)
        pump(1.0)
        wait_for(lambda: not w.isVisible())
    return 0


if __name__ == "__main__":
    sys.exit(main())
