"""The app's time estimates and graph-cache preferences, with real widgets offscreen and the real engine.

Estimates come from the engine thread: known ones at once, a measurement when the user asks for one
(right-click, Estimate time); the UI never waits for them."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from clips import make_test_clip
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.estimates import NO_ESTIMATE_TIP
from app.main_window import MainWindow
from app.settings import AppSettings, JobPrefs
from app.widgets.cache_dialog import CacheDialog
from app.widgets.queue_table import QueueModel
from vrt_engine import graph_cache

TIMEOUT_MS = 60_000
MODEL_TIMEOUT_MS = 300_000  # the micro model compiled on a loaded 2-core machine


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's preferences, model folder or cache switch (the app sets them in the environment)."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    monkeypatch.setenv("VRT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv(graph_cache.ENV_DIR, os.environ[graph_cache.ENV_DIR])
    monkeypatch.setenv(graph_cache.ENV_SWITCH, "1")


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    windows: list[MainWindow] = []

    def make(prefs: JobPrefs, **values) -> MainWindow:
        path = tmp_path / "settings.ini"
        settings = AppSettings(path)
        settings.set_job_defaults(prefs)
        for key, value in values.items():
            settings.set_value(key, value)
        settings.sync()
        w = MainWindow(AppSettings(path), confirm=lambda _t, _x: True)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
        qtbot.waitUntil(lambda w=w: not w.isVisible(), timeout=MODEL_TIMEOUT_MS)
        w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _time_cell(w: MainWindow, role=Qt.ItemDataRole.DisplayRole):
    model = w.controller.model
    return model.data(model.index(0, QueueModel.TIME), role)


def test_the_queue_shows_a_bicubic_jobs_time(qtbot, make_window, tmp_path):
    """Bicubic costs nothing to measure, so its estimate comes without asking."""
    clip = make_test_clip(tmp_path / "a.mp4", 64, 48, 12, audio=False)
    w = make_window(JobPrefs(model="bicubic", output_folder=str(tmp_path)))
    header = w.controller.model.headerData(QueueModel.TIME, Qt.Orientation.Horizontal)
    assert header == "Est. time"
    w.add_paths([str(clip)])
    qtbot.waitUntil(lambda: w.controller.model.rowCount() == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: str(_time_cell(w)).startswith("about "), timeout=TIMEOUT_MS)
    assert "chunks of" in _time_cell(w, Qt.ItemDataRole.ToolTipRole)


def test_a_model_job_says_it_has_no_estimate_then_measures_on_request(qtbot, make_window, micro_ckpt, tmp_path):
    """No measurement for the model: "–" and why; Estimate time measures it in the engine (the UI goes on),
    through the cache folder the app's preferences name."""
    clip = make_test_clip(tmp_path / "m.mp4", 32, 24, 6, audio=False)
    cache = tmp_path / "app-cache"
    w = make_window(JobPrefs(model=str(micro_ckpt), output_folder=str(tmp_path)), **{"cache/folder": str(cache)})
    assert os.environ[graph_cache.ENV_DIR] == str(cache)
    w.add_paths([str(clip)])
    qtbot.waitUntil(lambda: _time_cell(w, Qt.ItemDataRole.ToolTipRole) == NO_ESTIMATE_TIP, timeout=MODEL_TIMEOUT_MS)
    assert _time_cell(w) == "–"

    w.table.selectRow(0)
    assert w.estimate_action in w.table.actions()
    w.estimate_action.trigger()
    assert _time_cell(w) == "–"  # asked, not done: the call returned at once
    assert "Measuring" in _time_cell(w, Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: str(_time_cell(w)).startswith("about "), timeout=MODEL_TIMEOUT_MS)
    assert list((cache / "timings").glob("*.json"))  # the measurement is kept where the app said
    assert list((cache / "plans").glob("*.json"))  # with the plan the job will run


def test_cache_preferences_set_the_engines_cache_and_the_dialog_changes_them(qtbot, make_window, tmp_path):
    w = make_window(JobPrefs(model="bicubic"), **{"cache/folder": str(tmp_path / "c1"), "cache/enabled": False})
    assert os.environ[graph_cache.ENV_DIR] == str(tmp_path / "c1")
    assert not graph_cache.enabled()  # as vrt-upscale --no-cache

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, CacheDialog)
        assert dialog.folder_edit.text() == str(tmp_path / "c1") and not dialog.enabled_box.isChecked()
        dialog.folder_edit.setText(str(tmp_path / "c2"))
        dialog.enabled_box.setChecked(True)
        dialog.accept()

    QTimer.singleShot(0, fill)
    w.cache_action.trigger()
    assert os.environ[graph_cache.ENV_DIR] == str(tmp_path / "c2")
    assert graph_cache.enabled()
    again = AppSettings(tmp_path / "settings.ini")
    assert again.value("cache/folder") == str(tmp_path / "c2") and again.value("cache/enabled") is True
