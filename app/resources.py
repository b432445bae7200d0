"""Where the app finds its files (the window icon), in a checkout, an install or a bundle."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

from vrt_engine.models_dir import assets_dir

ICON_NAME = "vrt-upscaler.svg"


def icon_path() -> Path:
    """The SVG window icon (assets/icons/vrt-upscaler.svg; $VRT_ASSETS overrides the assets folder)."""
    return assets_dir() / "icons" / ICON_NAME


def app_icon() -> QIcon:
    """The window icon; an empty icon if the file is missing (the app still runs)."""
    path = icon_path()
    return QIcon(str(path)) if path.is_file() else QIcon()
