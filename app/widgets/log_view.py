"""The log panel: what the engine and the app did, with warnings and errors in colour."""

from __future__ import annotations

import html
import time
from collections import deque

from PySide6.QtCore import QEvent
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 5000


class LogView(QPlainTextEdit):
    """Read-only, timestamped lines; keeps the last MAX_LINES so a long session stays light."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._records: deque[tuple[str, str, str]] = deque(maxlen=MAX_LINES)  # (stamp, text, level)
        self.setReadOnly(True)
        self.setAcceptDrops(False)
        self.setMaximumBlockCount(MAX_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setPlaceholderText("Messages from the upscaler appear here")
        self.setToolTip("What the upscaler did: files added or refused, job progress, failures")

    def append_line(self, text: str, level: str = "info") -> None:
        """Add one line; level 'warning' or 'error' is coloured to stand out on light and dark palettes."""
        record = (time.strftime("%H:%M:%S"), text, level)
        self._records.append(record)
        self._append(record)
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _append(self, record: tuple[str, str, str]) -> None:
        stamp, text, level = record
        safe = html.escape(text)
        colour = self.colour(level)
        body = f'<span style="color:{colour}">{safe}</span>' if colour else safe
        # the stamp takes the text colour of the moment it is drawn (a baked grey would vanish after a
        # switch between light and dark palettes)
        self.appendHtml(f"{stamp}&nbsp;&nbsp;{body}")

    def colour(self, level: str) -> str:
        """The colour of a level's text on the current palette ('' for the plain text colour)."""
        dark = self.palette().color(QPalette.ColorRole.Base).lightness() < 128
        if level == "error":
            return "#ff7b72" if dark else "#b3261e"
        if level == "warning":
            return "#e3b341" if dark else "#8a5a00"
        return ""

    def changeEvent(self, event: QEvent) -> None:
        """A switch between light and dark: redraw the coloured lines in colours that read on the new palette."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            bar = self.verticalScrollBar()
            at_end = bar.value() == bar.maximum()
            position = bar.value()
            self.clear()
            for record in self._records:
                self._append(record)
            bar.setValue(bar.maximum() if at_end else position)

    def lines(self) -> list[str]:
        """The text of every line (for tests and copying)."""
        return self.toPlainText().splitlines()
