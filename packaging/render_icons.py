"""Render the one app icon SVG into the freedesktop hicolor PNG sizes.

Why Qt: PySide6-Essentials is already a dependency and ships QtSvg, so no cairo or librsvg is needed.
The output tree is what a distribution installs under /usr/share/icons/hicolor/ (or ~/.local/share/icons/hicolor/):

    packaging/icons/hicolor/{16,24,32,48,64,128,256,512}x.../apps/vrt-upscaler.png
    packaging/icons/hicolor/scalable/apps/vrt-upscaler.svg

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "assets" / "icons" / "vrt-upscaler.svg"
OUT = ROOT / "packaging" / "icons" / "hicolor"
NAME = "vrt-upscaler"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, out: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write one transparent PNG per size plus the SVG itself; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # fonts for the SVG's text need it
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG for Qt")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out / f"{size}x{size}" / "apps" / f"{NAME}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"{target}: cannot write")
        written.append(target)
    scalable = out / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SOURCE, help=f"source SVG (default {SOURCE})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"hicolor folder to fill (default {OUT})")
    args = parser.parse_args(argv)
    for path in render(args.svg, args.out):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
