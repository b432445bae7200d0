"""The empty-queue invitation: a dashed area saying what to drop, clickable to open files."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class DropZone(QWidget):
    """Shown while the queue is empty; drops and clicks here add videos like anywhere else."""

    pathsDropped = Signal(list)  # list[str]
    clicked = Signal()

    def __init__(self, icon: QIcon | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icon = icon or QIcon()
        self._hover = False
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Drop video files or folders here (or anywhere on the window), or click to choose files")

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        role = QPalette.ColorRole.Highlight if self._hover else QPalette.ColorRole.Mid
        pen = QPen(pal.color(role), 2, Qt.PenStyle.DashLine)
        p.setPen(pen)
        box = QRectF(self.rect()).adjusted(8, 8, -8, -8)
        p.drawRoundedRect(box, 12, 12)
        fm = self.fontMetrics()
        side = int(min(64, max(0, box.height() - 3 * fm.height() - 24)))
        top = box.center().y() - (side + 2 * fm.height() + 8) / 2
        if side >= 24 and not self._icon.isNull():
            self._icon.paint(p, int(box.center().x() - side / 2), int(top), side, side)
            top += side + 8
        p.setPen(pal.color(QPalette.ColorRole.WindowText))
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        p.setFont(font)
        line = QRectF(box.left(), top, box.width(), fm.height() * 1.4)
        p.drawText(line, Qt.AlignmentFlag.AlignCenter, "Drop videos or folders here")
        p.setFont(self.font())
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        line.translate(0, fm.height() * 1.5)
        p.drawText(line, Qt.AlignmentFlag.AlignCenter, "or click to choose files (Ctrl+O), or paste a path (Ctrl+V)")
        p.end()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            self._hover = True
            self.update()
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:
        self._hover = False
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:
        self._hover = False
        self.update()
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.pathsDropped.emit(paths)
            event.acceptProposedAction()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
