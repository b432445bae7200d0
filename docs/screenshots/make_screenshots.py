"""Make the app's screenshots: main_window.png, compare.png, settings.png (and a dark variant).

Run under a real X server, e.g.::

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_screenshots.py

It queues the Quickstart sample clip (assets/sample/sample.mp4) and a few synthetic clips, runs the
queue until two are done and one is paused mid-run, previews a frame of the sample with the built-in
tiny model (bicubic | VRT), grabs the widgets, then cancels the paused job cleanly. Everything happens
in a temporary folder with its own preferences file.

The synthetic clips run with the bicubic model (seconds). Without the built-in model's weights the
compare view falls back to a small untrained VRT made here (it then shows the view, not the quality).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the clip maker lives with the tests

from clips import make_test_clip  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.settings import AppSettings, JobPrefs  # noqa: E402
from app.widgets.queue_table import Status  # noqa: E402
from vrt_engine.models_dir import named_model_path  # noqa: E402

OUT = Path(__file__).resolve().parent


def pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def preview_model(folder: Path) -> str:
    """The built-in tiny model if installed, else a small untrained VRT checkpoint written to ``folder``."""
    tiny = named_model_path("tiny")
    if tiny is not None:
        return "tiny"
    from vrt_engine.model import build_model, config_from, config_to_dict
    from vrt_engine.weights import save_checkpoint

    arch = dict(
        upscale=4, img_size=[4, 64, 64], window_size=[2, 8, 8], depths=[2] * 9, indep_reconsts=[8],
        embed_dims=[8] * 7 + [12, 12], num_heads=[2] * 9, pa_frames=2, deformable_groups=2, num_feat=8,
    )  # fmt: skip
    path = folder / "untrained-small.ckpt"
    cfg = config_from(arch)
    save_checkpoint(build_model(cfg), path, config_to_dict(cfg))
    return str(path)


def wait_for(condition, timeout: float = 600.0, window: MainWindow | None = None) -> None:
    """Run the event loop until ``condition``; a preview failure or a timeout stops with what the app said."""
    end = time.monotonic() + timeout
    while not condition():
        said = window.preview.status_label.text() if window is not None else ""
        if said.startswith("No preview") or time.monotonic() > end:
            log = window.log_view.lines()[-3:] if window is not None else []
            raise RuntimeError(f"the app did not get there: {said!r}, log {log}")
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
    with tempfile.TemporaryDirectory(prefix="vrt-shots-") as tmp:
        tmp_path = Path(tmp)
        clips = tmp_path / "clips"
        out = tmp_path / "upscaled"
        clips.mkdir()
        out.mkdir()
        sample = clips / "harbour_pan.mp4"
        shutil.copyfile(ROOT / "assets" / "sample" / "sample.mp4", sample)
        inputs = [
            sample,
            make_test_clip(clips / "family_holiday_1998.mp4", 96, 72, 30, audio=True),
            make_test_clip(clips / "beach_sunset.mp4", 160, 90, 24, audio=True),
            make_test_clip(clips / "city_walk.mkv", 320, 180, 240, audio=True),
            make_test_clip(clips / "interview_take2.mov", 240, 180, 150, audio=True),
            make_test_clip(clips / "drone_flyover.webm", 128, 72, 120, audio=False),
        ]
        model = preview_model(tmp_path)  # before the window: its engine thread owns MindSpore's device from then on
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
        # compare: a chosen frame of the sample (waiting), previewed with the model, split line in the middle
        harbour = items[0]
        c.set_item_prefs([harbour.id], JobPrefs(model=model, chunk=6, output_folder=str(out)))
        w.table.select_ids([harbour.id])
        w.preview.set_mode("split")
        w.preview.slider.setValue(40)
        wait_for(lambda: w._shown is not None and w._shown[:2] == (harbour.id, 40) and w._shown[2], window=w)
        view = w.preview.view
        view.set_zoom(2.0)
        view.set_split(0.5)
        preview_box = w.preview.parentWidget()
        grab(preview_box, "compare.png")
        w.preview.set_mode("side")
        view.fit()
        grab(preview_box, "compare_side_by_side.png")
        w.preview.set_mode("split")
        view.fit()

        # the queue: the synthetic clips with bicubic (seconds) until the 320x180 one is half done, paused;
        # the sample waits with its model settings, its preview on screen
        while c.move([harbour.id], 1):  # to the end of the queue
            pass
        city = next(i for i in items if i.path.name == "city_walk.mkv")
        took_effect: list[int] = []
        w.engine.jobPaused.connect(took_effect.append)
        c.start()
        wait_for(lambda: city.status in (Status.RUNNING, Status.PAUSED) and city.fraction > 0.4)
        c.pause()
        # a pause takes effect after the chunk in progress: until then the queue says "Pausing"
        wait_for(lambda: city.id in took_effect and city.status == Status.PAUSED and not city.pending)
        w.table.select_ids([harbour.id])
        wait_for(lambda: w._shown is not None and w._shown[0] == harbour.id and w._shown[2], window=w)
        w.preview.view.fit()
        w.preview.view.set_zoom(w.preview.view.zoom())  # settle the zoom label
        grab(w, "main_window.png")
        c.cancel()  # stop the paused job cleanly (its finished segments stay for a resume)
        wait_for(lambda: not c.busy)

        # settings: the defaults for new jobs
        w.table.clearSelection()
        grab(w.form_scroll.parentWidget(), "settings.png")

        if not args.no_dark:
            app.setPalette(dark_palette())
            pump(0.5)
            w.table.select_ids([harbour.id])
            wait_for(lambda: w._shown is not None and w._shown[0] == harbour.id and w._shown[2], window=w)
            grab(w, "main_window_dark.png")
            app.setPalette(app.style().standardPalette())

        QTimer.singleShot(0, w.close)
        pump(1.0)
        wait_for(lambda: not w.isVisible())
    return 0


if __name__ == "__main__":
    sys.exit(main())
