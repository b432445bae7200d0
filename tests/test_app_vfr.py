"""The app's frame slider on variable frame rate input: frame numbers, and times from the real timestamps."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fractions import Fraction
from pathlib import Path

import pytest
from clips import make_test_clip
from PySide6.QtCore import QCoreApplication, QEvent, QSettings

from app.main_window import MainWindow
from app.settings import AppSettings, JobPrefs
from app.widgets.preview_panel import PreviewPanel, format_time

TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    monkeypatch.setenv("VRT_MODELS_DIR", str(tmp_path / "models"))
    settings = AppSettings(tmp_path / "settings.ini")
    settings.set_job_defaults(JobPrefs(model="bicubic"))
    w = MainWindow(settings, confirm=lambda _title, _text: True)
    w.show()
    yield w
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=TIMEOUT_MS)
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_slider_shows_frame_numbers_and_times_of_a_vfr_clip(window, qtbot, tmp_path):
    clip = make_test_clip(tmp_path / "phone.mp4", 32, 18, 54, fps=Fraction(30),
                          pts="if(lt(N,30),N/30,1+(N-30)/12)", seconds=3.0)
    window.add_paths([str(clip)])
    qtbot.waitUntil(lambda: not window.controller.probing, timeout=10_000)
    item = window.controller.model.item(0)
    assert item is not None and item.info.is_vfr  # accepted, not refused
    window.table.select_ids([item.id])
    panel = window.preview
    assert panel.total_label.text() == "/ 53"
    panel.slider.setValue(40)  # the 12 fps part: 1 s + 10/12 s, not 40/30 s
    assert panel.spin.value() == 40 and panel.time_label.text() == "at 0:01.833"
    qtbot.waitUntil(lambda: window._shown is not None and window._shown[:2] == (item.id, 40), timeout=TIMEOUT_MS)
    panel.slider.setValue(15)
    assert panel.time_label.text() == "at 0:00.500"


def test_time_label_is_empty_without_times_and_formats_long_times(qtbot):
    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.set_source(10, 3)
    assert panel.time_label.text() == ""
    panel.set_source(3, 2, [0.0, 1.5, 3725.0626])
    assert panel.time_label.text() == "at 1:02:05.063"  # past an hour, to the millisecond
    assert format_time(59.9996) == "1:00.000"
