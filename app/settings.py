"""Preferences: one QSettings-backed object, with every default in this module.

Two kinds of preference live here:

* :class:`JobPrefs`, the choices that shape one job (model, device, sizes, codec, output folder).
  The user edits them as the defaults for new jobs or per queued job; the defaults persist.
* UI state (window geometry, splitter sizes, compare mode...), keyed in :data:`UI_DEFAULTS`.

Tests and screenshots pass a settings file path so they never touch the user's real preferences.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from vrt_engine.job import JobSettings, default_output_path

ORGANIZATION = "VRT Upscaler"
APPLICATION = "vrt-upscaler"

CODECS = ("h264", "h265", "ffv1", "vp9", "png")
ENCODER_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
LOSSY_CODECS = ("h264", "h265", "vp9")  # the ones CRF and preset apply to
DEINTERLACE_MODES = ("auto", "off", "frame", "field")  # vrt_engine.video.DEINTERLACE_MODES


@dataclass
class JobPrefs:
    """What the user chooses for a job; the field defaults are the app's defaults for new jobs."""

    model: str = "tiny"  # tiny | reds_6f | reds_16f | bicubic | path to a .ckpt
    device: str = "auto"
    tile: int | None = None  # None: automatic (from free memory)
    chunk: int | None = None  # None: automatic
    codec: str = "h264"
    crf: int = 18
    preset: str = "medium"
    keep_audio: bool = True
    keep_subtitles: bool = True
    overwrite: bool = False
    output_folder: str = ""  # "": beside each input
    deinterlace: str = "auto"  # auto | off | frame | field

    def job_settings(self) -> JobSettings:
        """The engine's settings for this choice (the output folder is not part of them)."""
        return JobSettings(
            model=self.model,
            device=self.device,
            tile=self.tile,
            chunk=self.chunk,
            codec=self.codec,
            crf=self.crf,
            preset=self.preset,
            keep_audio=self.keep_audio,
            keep_subtitles=self.keep_subtitles,
            overwrite=self.overwrite,
            deinterlace=self.deinterlace,
        )

    def output_path(self, input_path: str | os.PathLike[str]) -> Path:
        """Where the job writes: NAME_x4.ext beside the input, or in the chosen output folder."""
        folder = Path(self.output_folder).expanduser() if self.output_folder else None
        return default_output_path(input_path, self.job_settings(), folder)

    def copy(self) -> JobPrefs:
        """An independent copy (each queued job owns its prefs)."""
        return dataclasses.replace(self)


# UI state and its defaults (None: nothing saved yet, the window picks a size for the screen).
UI_DEFAULTS: dict[str, Any] = {
    "window/geometry": None,
    "window/state": None,
    "window/main_splitter": None,
    "window/left_splitter": None,
    "preview/mode": "split",  # split | side
    "preview/follow_job": True,
    "files/last_dir": "",
    "files/last_model_dir": "",
    "cache/folder": "",  # "": the default (vrt_engine.graph_cache.cache_root), as vrt-upscale without --cache-dir
    "cache/enabled": True,  # False: as vrt-upscale --no-cache
}

_JOB_GROUP = "job_defaults"


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return bool(raw)


def _to_optional_int(raw: Any) -> int | None:
    if raw is None or raw == "" or str(raw).lower() in ("auto", "none", "@invalid()"):
        return None
    return int(raw)


class AppSettings:
    """QSettings with typed access; ``path`` given: an INI file there (tests), else the user's store."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None:
            self._qs = QSettings(os.fspath(path), QSettings.Format.IniFormat)
        else:
            self._qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)

    @property
    def file_name(self) -> str:
        """Where the preferences are stored (shown in the log, useful when reporting problems)."""
        return self._qs.fileName()

    # ----- job defaults -----
    def job_defaults(self) -> JobPrefs:
        """The saved defaults for new jobs; anything missing or unreadable falls back to JobPrefs()."""
        base = JobPrefs()
        values: dict[str, Any] = {}
        self._qs.beginGroup(_JOB_GROUP)
        try:
            for f in fields(JobPrefs):
                raw = self._qs.value(f.name)
                if raw is None:
                    continue
                default = getattr(base, f.name)
                try:
                    if f.name in ("tile", "chunk"):
                        values[f.name] = _to_optional_int(raw)
                    elif isinstance(default, bool):
                        values[f.name] = _to_bool(raw)
                    elif isinstance(default, int):
                        values[f.name] = int(raw)
                    else:
                        values[f.name] = str(raw)
                except (TypeError, ValueError):
                    continue
        finally:
            self._qs.endGroup()
        prefs = dataclasses.replace(base, **values)
        return _sanitised(prefs)

    def set_job_defaults(self, prefs: JobPrefs) -> None:
        """Save the defaults for new jobs (written to disk at once, so a crash keeps them)."""
        self._qs.beginGroup(_JOB_GROUP)
        try:
            for f in fields(JobPrefs):
                value = getattr(prefs, f.name)
                self._qs.setValue(f.name, "" if value is None else value)
        finally:
            self._qs.endGroup()
        self._qs.sync()

    # ----- UI state -----
    def value(self, key: str) -> Any:
        """A UI value, or its default from UI_DEFAULTS."""
        default = UI_DEFAULTS[key]
        raw = self._qs.value(key)
        if raw is None:
            return default
        if isinstance(default, bool):
            return _to_bool(raw)
        return raw

    def set_value(self, key: str, value: Any) -> None:
        """Store a UI value (the key must be one of UI_DEFAULTS, so typos fail loudly)."""
        if key not in UI_DEFAULTS:
            raise KeyError(f"unknown preference {key!r}")
        self._qs.setValue(key, value)

    def sync(self) -> None:
        """Write pending changes to disk."""
        self._qs.sync()


def _sanitised(prefs: JobPrefs) -> JobPrefs:
    """Replace values a hand-edited or older settings file may hold that the engine would refuse."""
    base = JobPrefs()
    if prefs.codec not in CODECS:
        prefs.codec = base.codec
    if prefs.preset not in ENCODER_PRESETS:
        prefs.preset = base.preset
    if not 0 <= prefs.crf <= 51:
        prefs.crf = base.crf
    if prefs.tile is not None and prefs.tile < 0:
        prefs.tile = None
    if prefs.chunk is not None and prefs.chunk < 0:
        prefs.chunk = None
    if prefs.deinterlace not in DEINTERLACE_MODES:
        prefs.deinterlace = base.deinterlace
    if not prefs.model:
        prefs.model = base.model
    if not prefs.device:
        prefs.device = base.device
    return prefs


_default_cache_dir: str | None = None


def default_cache_dir() -> str:
    """The cache folder when the preferences name none: as vrt-upscale without --cache-dir, taken once
    per process (before the preferences move it)."""
    global _default_cache_dir
    from vrt_engine import graph_cache

    if _default_cache_dir is None:
        _default_cache_dir = os.fspath(graph_cache.cache_root())
    return _default_cache_dir


def apply_cache(settings: AppSettings) -> None:
    """Point the graph cache where the preferences say, for this process and the model workers it starts
    (the app's previews and jobs); the same meaning as vrt-upscale's --cache-dir and --no-cache."""
    from vrt_engine import graph_cache

    folder = str(settings.value("cache/folder") or "").strip()
    graph_cache.configure(Path(folder).expanduser() if folder else default_cache_dir(), settings.value("cache/enabled"))
