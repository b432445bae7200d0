"""Entry point of the desktop app: ``python -m app`` or the ``vrt-upscaler`` command."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from .platform_check import platform_problem
from .resources import app_icon
from .settings import APPLICATION, ORGANIZATION


def main(argv: list[str] | None = None) -> int:
    """Start the app; files or folders given on the command line join the queue."""
    argv = list(sys.argv if argv is None else argv)
    if QApplication.instance() is None:
        problem = platform_problem(argv)
        if problem:
            print(f"vrt-upscaler: {problem}", file=sys.stderr)
            return 2
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("VRT Upscaler")
    app.setDesktopFileName("vrt-upscaler")
    app.setWindowIcon(app_icon())

    parser = argparse.ArgumentParser(prog="vrt-upscaler", description="x4 video upscaler (VRT) desktop app")
    parser.add_argument("paths", nargs="*", help="videos or folders to add to the queue")
    parser.add_argument("--settings", metavar="FILE", help="preferences file to use instead of the user's")
    args, _qt_args = parser.parse_known_args(app.arguments()[1:])

    from .main_window import MainWindow
    from .settings import AppSettings

    window = MainWindow(AppSettings(args.settings) if args.settings else AppSettings())
    app.aboutToQuit.connect(window.controller.shutdown)
    window.show()
    if args.paths:
        window.add_paths(args.paths)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
