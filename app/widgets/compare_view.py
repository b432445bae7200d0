"""Before/after view: bicubic x4 on the left, the model's output on the right.

Two modes share one view transform, so zoom and pan always match on both sides:

* ``split``: one picture, the left image left of a draggable split line, the right image right of it;
* ``side``: two panes side by side, each showing its whole image.

Drag to pan, wheel to zoom around the cursor, double-click to fit; drag the split line to move it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

SPLIT = "split"
SIDE = "side"
MIN_ZOOM, MAX_ZOOM = 0.05, 32.0
PANE_GAP = 4  # pixels between the panes in side-by-side mode
GRAB_DISTANCE = 6  # how close to the split line a press grabs it


def actual_pixels_zoom(device_pixel_ratio: float) -> float:
    """The zoom (image pixels per logical pixel) that puts one image pixel on one physical screen pixel."""
    return 1.0 / device_pixel_ratio if device_pixel_ratio > 0 else 1.0


class CompareView(QWidget):
    """Paints two same-sized images for comparison, with shared zoom and pan."""

    zoomChanged = Signal(float)  # physical screen pixels per image pixel (1.0 = actual pixels, high-DPI too)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._left: QImage | None = None
        self._right: QImage | None = None
        self._captions = ("Bicubic ×4", "VRT")
        self._message = ""  # shown over the right side while its image is missing or out of date
        self._mode = SPLIT
        self._split = 0.5  # split line as a fraction of the widget width
        self._zoom: float | None = None  # None: fit
        self._center = QPointF(0, 0)  # image point at the centre of each pane
        self._drag: str | None = None  # "split" | "pan"
        self._last = QPointF()
        self.setMouseTracking(True)
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(
            "Left: the input scaled x4 (bicubic). Right: the model's output.\n"
            "Drag to pan, mouse wheel to zoom, double-click to fit; in split mode drag the line to compare."
        )

    # ----- content -----
    def set_images(self, left: QImage | None, right: QImage | None) -> None:
        """Show a new pair; keeps zoom and pan when the size is unchanged (scrubbing through frames)."""
        old = self._image_size()
        self._left, self._right = left, right
        new = self._image_size()
        if new != old:
            self._zoom = None
            self._center = QPointF(new.width() / 2, new.height() / 2)
        self.update()

    def set_left(self, image: QImage | None) -> None:
        """Replace the left image only (the input frame arrives before the model's output)."""
        self.set_images(image, self._right if image is None or self._same_size(image, self._right) else None)

    def set_captions(self, left: str, right: str) -> None:
        self._captions = (left, right)
        self.update()

    def set_message(self, text: str) -> None:
        """A status line over the right side ("preparing model…", a failure reason); '' hides it."""
        self._message = text
        self.update()

    def images(self) -> tuple[QImage | None, QImage | None]:
        return self._left, self._right

    def clear(self) -> None:
        self._left = self._right = None
        self._message = ""
        self.update()

    # ----- mode, split, zoom -----
    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in (SPLIT, SIDE):
            raise ValueError(f"mode must be {SPLIT!r} or {SIDE!r}")
        self._mode = mode
        self.update()

    @property
    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        self._split = min(1.0, max(0.0, fraction))
        self.update()

    def zoom(self) -> float:
        """The zoom in effect (the fit zoom while fitting)."""
        return self._zoom if self._zoom is not None else self._fit_zoom()

    def set_zoom(self, zoom: float | None, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (None: fit), keeping the image point under ``anchor`` (widget coords) still."""
        if zoom is None:
            size = self._image_size()
            self._zoom = None
            self._center = QPointF(size.width() / 2, size.height() / 2)
        else:
            zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
            if anchor is not None:
                pane = self._pane_at(anchor)
                before = self._to_image(anchor, pane)
                self._zoom = zoom
                after = self._to_image(anchor, pane)
                self._center += before - after
            else:
                self._zoom = zoom
        self.update()
        self.zoomChanged.emit(self.screen_zoom())

    def set_actual_pixels(self) -> None:
        """One image pixel per physical screen pixel: on a 2x screen that is half the logical zoom."""
        self.set_zoom(actual_pixels_zoom(self.devicePixelRatioF()))

    def screen_zoom(self) -> float:
        """The zoom in physical screen pixels per image pixel (what the user calls 100%)."""
        return self.zoom() * self.devicePixelRatioF()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / 1.25)

    def fit(self) -> None:
        self.set_zoom(None)

    # ----- geometry -----
    def _image_size(self) -> QSize:
        img = self._left or self._right
        return img.size() if img is not None else QSize(0, 0)

    @staticmethod
    def _same_size(a: QImage | None, b: QImage | None) -> bool:
        return a is not None and b is not None and a.size() == b.size()

    def _panes(self) -> tuple[QRectF, QRectF]:
        r = QRectF(self.rect())
        if self._mode == SPLIT:
            return r, r
        half = (r.width() - PANE_GAP) / 2
        return QRectF(r.left(), r.top(), half, r.height()), QRectF(
            r.left() + half + PANE_GAP, r.top(), half, r.height()
        )

    def _pane_at(self, pos: QPointF) -> QRectF:
        left, right = self._panes()
        return right if self._mode == SIDE and pos.x() >= right.left() else left

    def _fit_zoom(self) -> float:
        size = self._image_size()
        if size.isEmpty():
            return 1.0
        pane = self._panes()[0]
        return max(MIN_ZOOM, min(pane.width() / size.width(), pane.height() / size.height()))

    def _target(self, pane: QRectF) -> QRectF:
        """Where the whole image lands on screen in this pane."""
        size = self._image_size()
        z = self.zoom()
        w, h = size.width() * z, size.height() * z
        c = pane.center()
        return QRectF(c.x() - self._center.x() * z, c.y() - self._center.y() * z, w, h)

    def _to_image(self, pos: QPointF, pane: QRectF) -> QPointF:
        z = self.zoom()
        c = pane.center()
        return QPointF((pos.x() - c.x()) / z + self._center.x(), (pos.y() - c.y()) / z + self._center.y())

    def _split_x(self) -> float:
        return self.width() * self._split

    # ----- painting -----
    def paintEvent(self, _event: QEvent) -> None:
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Dark))
        size = self._image_size()
        if size.isEmpty():
            self._draw_centred(p, QRectF(self.rect()), self._message or "Add a video and pick a frame to preview")
            p.end()
            return
        smooth = self.screen_zoom() < 1.0  # shrinking: smooth; at or above actual pixels: crisp
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        left_pane, right_pane = self._panes()
        if self._mode == SPLIT:
            x = self._split_x()
            target = self._target(left_pane)
            self._draw_image(p, self._left, target, QRectF(0, 0, x, self.height()))
            right_clip = QRectF(x, 0, self.width() - x, self.height())
            if self._right is not None:
                self._draw_image(p, self._right, target, right_clip)
            if self._message or self._right is None:
                self._draw_centred(p, right_clip, self._message or "No model output for this frame yet")
            pen = QPen(pal.color(QPalette.ColorRole.Highlight), 2)
            p.setPen(pen)
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            p.setBrush(pal.color(QPalette.ColorRole.Highlight))
            p.drawEllipse(QPointF(x, self.height() / 2), 7, 7)
            self._draw_caption(p, QRectF(0, 0, x, self.height()), self._captions[0], Qt.AlignmentFlag.AlignLeft)
            self._draw_caption(p, right_clip, self._captions[1], Qt.AlignmentFlag.AlignRight)
        else:
            self._draw_image(p, self._left, self._target(left_pane), left_pane)
            if self._right is not None:
                self._draw_image(p, self._right, self._target(right_pane), right_pane)
            if self._message or self._right is None:
                self._draw_centred(p, right_pane, self._message or "No model output for this frame yet")
            p.fillRect(QRectF(left_pane.right(), 0, PANE_GAP, self.height()), pal.color(QPalette.ColorRole.Window))
            self._draw_caption(p, left_pane, self._captions[0], Qt.AlignmentFlag.AlignLeft)
            self._draw_caption(p, right_pane, self._captions[1], Qt.AlignmentFlag.AlignRight)
        p.end()

    @staticmethod
    def _draw_image(p: QPainter, image: QImage | None, target: QRectF, clip: QRectF) -> None:
        if image is None or clip.width() <= 0:
            return
        p.save()
        p.setClipRect(clip)
        p.drawImage(target, image, QRectF(image.rect()))
        p.restore()

    def _draw_caption(self, p: QPainter, pane: QRectF, text: str, align: Qt.AlignmentFlag) -> None:
        """A small label in the pane's top corner, on a translucent plate so it reads over any picture."""
        if pane.width() < 40:
            return
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        w = min(w, pane.width() - 12)
        x = pane.left() + 6 if align == Qt.AlignmentFlag.AlignLeft else pane.right() - w - 6
        plate = QRectF(x, pane.top() + 6, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(plate, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(plate, Qt.AlignmentFlag.AlignCenter, fm.elidedText(text, Qt.TextElideMode.ElideRight, int(w - 8)))

    def _draw_centred(self, p: QPainter, area: QRectF, text: str) -> None:
        if area.width() < 40:
            return
        fm = self.fontMetrics()
        box = QRectF(0, 0, min(area.width() - 24, fm.horizontalAdvance(text) + 24), fm.height() * 3 + 12)
        box.moveCenter(area.center())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 160))
        p.drawRoundedRect(box, 6, 6)
        p.setPen(QColor(255, 255, 255))
        p.setFont(self.font())
        p.drawText(box.adjusted(8, 4, -8, -4), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), text)

    # ----- interaction -----
    def _near_split(self, pos: QPointF) -> bool:
        return self._mode == SPLIT and abs(pos.x() - self._split_x()) <= GRAB_DISTANCE

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        self._drag = "split" if self._near_split(pos) else "pan"
        self._last = pos
        if self._drag == "pan":
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag == "split":
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            delta = pos - self._last
            self._last = pos
            z = self.zoom()
            if self._zoom is None:
                self._zoom = z  # panning leaves fit mode
            self._center -= QPointF(delta.x() / z, delta.y() / z)
            self.update()
        elif self._near_split(pos):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.setCursor(
                Qt.CursorShape.OpenHandCursor if not self._image_size().isEmpty() else Qt.CursorShape.ArrowCursor
            )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.fit()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom() * (1.25**steps), anchor=event.position())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._zoom is None:
            self.zoomChanged.emit(self.screen_zoom())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.update()
        super().changeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(640, 360)
