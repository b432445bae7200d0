"""The job queue: its items, a table model over them, and the table view (drag to reorder, drop files).

The model holds plain data (:class:`QueueItem`); the controller changes it, the view draws it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from vrt_engine.frame_range import FrameRange, with_range_suffix
from vrt_engine.job import JobSettings
from vrt_engine.video import VideoInfo

from ..settings import JobPrefs

MIME_IDS = "application/x-vrt-upscaler-queue-ids"


class Status(StrEnum):
    WAITING = "Waiting"
    PREPARING = "Preparing"
    RUNNING = "Running"
    PAUSED = "Paused"
    DONE = "Done"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def active(self) -> bool:
        """The job is in the engine's hands."""
        return self in (Status.PREPARING, Status.RUNNING, Status.PAUSED)

    @property
    def editable(self) -> bool:
        """Its settings can still change what it will produce."""
        return self in (Status.WAITING, Status.FAILED, Status.CANCELLED)


_ids = itertools.count(1)


@dataclass
class QueueItem:
    """One input and how to upscale it, with where it stands."""

    path: Path
    info: VideoInfo
    prefs: JobPrefs
    id: int = field(default_factory=lambda: next(_ids))
    status: Status = Status.WAITING
    frames_done: int = 0
    fps: float = 0.0
    eta: float | None = None
    elapsed: float = 0.0
    message: str = ""  # what it is doing, why it failed, or where the output went
    output: Path | None = None
    # "pausing" or "cancelling": asked for, but the job still finishes its chunk in progress (minutes on a CPU)
    pending: str = ""
    frame_range: FrameRange | None = None  # the part to upscale (in/out on the preview's slider); None: all
    time_estimate: str = ""  # "about 3 h 10 min" once the engine knows this model and plan here; "" not yet
    time_estimate_tip: str = ""  # the plan and measurement behind it, or why there is none yet

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def frames_total(self) -> int:
        """Frames the job upscales: its range's, or the whole input's."""
        return self.frame_range.count if self.frame_range else self.info.frame_count

    @property
    def fraction(self) -> float:
        if self.status == Status.DONE:
            return 1.0
        total = max(1, self.frames_total)
        return min(1.0, self.frames_done / total)

    def planned_output(self) -> Path:
        """Where the job writes: NAME_x4.ext from its settings, with the range (NAME_x4_f40-79.ext)."""
        return with_range_suffix(self.prefs.output_path(self.path), self.frame_range)

    def job_settings(self) -> JobSettings:
        """The engine's settings for this item: its prefs and its range."""
        settings = self.prefs.job_settings()
        if self.frame_range is not None:
            spec = self.frame_range.spec()
            settings.start, settings.end = spec.start, spec.end
        return settings


def estimate_output_bytes(info: VideoInfo, prefs: JobPrefs, frames: int | None = None) -> int:
    """A rough size of the x4 output, to warn before filling a disk (real sizes vary with content).

    Bits per output pixel at CRF 18, halving every 6 CRF steps, from x264/x265/libvpx on typical
    footage; lossless FFV1 and PNG from measured ratios to raw RGB. Audio is counted at 192 kbit/s.
    ``frames``: a part of the input (its range), else all of it.
    """
    frames = info.frame_count if frames is None else frames
    pixels = info.width * 4 * info.height * 4 * max(1, frames)
    crf_factor = 2.0 ** ((18 - prefs.crf) / 6)
    bits_per_pixel = {
        "h264": 0.10 * crf_factor,
        "h265": 0.06 * crf_factor,
        "vp9": 0.07 * crf_factor,
        "ffv1": 8.0,
        "png": 12.0,
    }.get(prefs.codec, 0.1)
    size = pixels * bits_per_pixel / 8
    if prefs.keep_audio and info.audio_streams and prefs.codec != "png":
        size += info.duration * frames / max(1, info.frame_count) * 192_000 / 8 * info.audio_streams
    return int(size)


def human_size(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, like file managers)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_time(seconds: float | None) -> str:
    """75.2 -> '1:15', 3725 -> '1:02:05', None -> '–'."""
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class QueueModel(QAbstractTableModel):
    """The queue in order; rows are items, columns what the table shows."""

    COLUMNS = ("Name", "Resolution", "Frames", "Duration", "Est. size", "Est. time", "Status")
    NAME, RESOLUTION, FRAMES, DURATION, SIZE, TIME, STATUS = range(7)
    TIPS = (
        "Input file or frame folder",
        "Input size → output size (x4)",
        "Number of frames in the input",
        "Length of the input",
        "Rough size of the output file for the chosen codec and CRF",
        "How long the job will take on this machine, from a short measurement of its model and plan",
        "Where the job stands; failed jobs show the reason",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []

    # ----- access -----
    def items(self) -> list[QueueItem]:
        """The items in queue order (a copy of the list; the items themselves are shared)."""
        return list(self._items)

    def item(self, row: int) -> QueueItem:
        return self._items[row]

    def find(self, item_id: int) -> QueueItem | None:
        return next((it for it in self._items if it.id == item_id), None)

    def row_of(self, item_id: int) -> int:
        return next((r for r, it in enumerate(self._items) if it.id == item_id), -1)

    def next_waiting(self) -> QueueItem | None:
        return next((it for it in self._items if it.status == Status.WAITING), None)

    # ----- changes -----
    def add(self, item: QueueItem) -> None:
        row = len(self._items)
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.append(item)
        self.endInsertRows()

    def remove(self, item_ids: list[int]) -> list[QueueItem]:
        """Remove these items; returns the removed ones."""
        removed = []
        for item_id in item_ids:
            row = self.row_of(item_id)
            if row < 0:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            removed.append(self._items.pop(row))
            self.endRemoveRows()
        return removed

    def move(self, item_ids: list[int], delta: int) -> bool:
        """Move each item up (delta -1) or down (+1) one place, keeping the selection's shape."""
        rows = sorted(r for r in (self.row_of(i) for i in item_ids) if r >= 0)
        if not rows:
            return False
        if delta < 0 and rows[0] == 0 or delta > 0 and rows[-1] == len(self._items) - 1:
            return False
        for row in rows if delta < 0 else reversed(rows):
            dest = row - 1 if delta < 0 else row + 2  # Qt counts the destination before the move
            self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), dest)
            item = self._items.pop(row)
            self._items.insert(row + delta, item)
            self.endMoveRows()
        return True

    def move_to(self, item_ids: list[int], row: int) -> None:
        """Move these items, in queue order, so they sit before what is now at ``row`` (drag and drop)."""
        moving = [it for it in self._items if it.id in set(item_ids)]
        if not moving:
            return
        anchor = self._items[row] if 0 <= row < len(self._items) else None
        while anchor is not None and anchor in moving:
            nxt = self._items.index(anchor) + 1
            anchor = self._items[nxt] if nxt < len(self._items) else None
        rest = [it for it in self._items if it not in moving]
        at = rest.index(anchor) if anchor is not None else len(rest)
        self.beginResetModel()  # layout changes keep persistent indexes right; a reset is simplest here
        self._items = rest[:at] + moving + rest[at:]
        self.endResetModel()

    def changed(self, item_id: int) -> None:
        """Redraw an item's row after its fields changed."""
        row = self.row_of(item_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    # ----- Qt model -----
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.TIPS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        it = self._items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(it, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(it, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (self.FRAMES, self.DURATION, self.SIZE, self.TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and col == self.STATUS:
            return _status_icon(it.status)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATUS and it.status == Status.FAILED:
            return _error_colour()
        if role == Qt.ItemDataRole.UserRole:
            return it.id
        return None

    def _text(self, it: QueueItem, col: int) -> str:
        info = it.info
        if col == self.NAME:
            return it.name
        if col == self.RESOLUTION:
            return f"{info.width}×{info.height} → {info.width * 4}×{info.height * 4}"
        if col == self.FRAMES:
            if it.frame_range is not None:
                return f"{it.frame_range.count:,} of {info.frame_count:,}"
            return f"{info.frame_count:,}"
        if col == self.DURATION:
            if it.frame_range is not None:
                return human_time(it.frame_range.count / float(info.fps))
            return human_time(info.duration)
        if col == self.SIZE:
            return "≈ " + human_size(estimate_output_bytes(info, it.prefs, it.frames_total))
        if col == self.TIME:
            return it.time_estimate or "–"
        return status_text(it)

    def _tooltip(self, it: QueueItem, col: int) -> str:
        if col == self.NAME:
            out = it.output or it.planned_output()
            return f"{it.path}\n→ {out}\nmodel {it.prefs.model}, {it.prefs.codec} CRF {it.prefs.crf}"
        if col == self.STATUS:
            return it.message or status_text(it)
        if col == self.SIZE:
            return "Rough estimate; the real size depends on the picture content"
        if col == self.TIME:
            return it.time_estimate_tip or self.TIPS[col]
        if col in (self.FRAMES, self.DURATION) and it.frame_range is not None:
            r, fps = it.frame_range, float(it.info.fps)
            return (
                f"Part of the input: frames {r.first}–{r.stop - 1} ({human_time(r.first / fps)} to "
                f"{human_time(r.stop / fps)}) of {it.info.frame_count:,}; set in the preview with In and Out"
            )
        return self.TIPS[col]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return base | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        return [MIME_IDS, "text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        ids = sorted({self._items[i.row()].id for i in indexes if i.isValid()}, key=self.row_of)
        mime = QMimeData()
        mime.setData(MIME_IDS, QByteArray(",".join(map(str, ids)).encode()))
        return mime


def status_text(it: QueueItem) -> str:
    """The status column's words, e.g. 'Running 45% · 12.3 fps'."""
    if it.status.active and it.pending:
        return f"{it.pending.capitalize()} {it.fraction:.0%}"
    if it.status == Status.PREPARING:
        return it.message or "Preparing model…"
    if it.status in (Status.RUNNING, Status.PAUSED):
        text = f"{it.status.value} {it.fraction:.0%}"
        return f"{text} · {it.fps:.1f} fps" if it.status == Status.RUNNING and it.fps else text
    if it.status == Status.CANCELLED:
        return "Cancelled (resumable)" if "resum" in it.message else "Cancelled"
    return it.status.value


def _status_icon(status: Status) -> QIcon | None:
    """The icon beside a finished job's status (active jobs show a progress bar instead)."""
    if status == Status.CANCELLED:
        return _stop_icon()
    style = QApplication.style()
    pixmap = {
        Status.DONE: QStyle.StandardPixmap.SP_DialogApplyButton,  # green tick: reads on light and dark
        Status.FAILED: QStyle.StandardPixmap.SP_MessageBoxCritical,  # red disc: reads on light and dark
    }.get(status)
    return style.standardIcon(pixmap) if pixmap is not None and style is not None else None


def _stop_icon() -> QIcon:
    """A grey stop square drawn in the palette's text colour, toned down towards the base.

    Why not the style's SP_MediaStop: Fusion draws it black, invisible on a dark palette.
    """
    palette = QApplication.palette()
    text = palette.color(QPalette.ColorRole.Text)
    base = palette.color(QPalette.ColorRole.Base)
    colour = QColor(
        round(0.7 * text.red() + 0.3 * base.red()),
        round(0.7 * text.green() + 0.3 * base.green()),
        round(0.7 * text.blue() + 0.3 * base.blue()),
    )
    icon = QIcon()
    for size in (16, 24, 32, 48):  # drawn at each size, so high-DPI screens get sharp edges
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        side = size * 0.625
        corner = size / 8
        painter.drawRoundedRect(QRectF((size - side) / 2, (size - side) / 2, side, side), corner, corner)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def _error_colour() -> QColor:
    """A red that reads on the current palette, light or dark."""
    dark = QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128
    return QColor("#ff7b72") if dark else QColor("#b3261e")


class ProgressDelegate(QStyledItemDelegate):
    """Draws the status cell of an active job as a progress bar with its words on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        model = index.model()
        item_id = index.data(Qt.ItemDataRole.UserRole)
        item = model.find(item_id) if isinstance(model, QueueModel) else None
        if item is None or not item.status.active:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(2, 3, -2, -3))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(item.fraction * 1000)
        bar.text = status_text(item)
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        bar.fontMetrics = option.fontMetrics
        style = option.widget.style() if option.widget is not None else QApplication.style()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


class QueueTable(QTableView):
    """The queue on screen: select, drag rows to reorder, drop files to add them."""

    pathsDropped = Signal(list)  # list[str]
    rowsMoved = Signal()

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegateForColumn(QueueModel.STATUS, ProgressDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 12)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QueueModel.NAME, QHeaderView.ResizeMode.Stretch)
        for col in (QueueModel.RESOLUTION, QueueModel.FRAMES, QueueModel.DURATION, QueueModel.SIZE, QueueModel.TIME):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(QueueModel.STATUS, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(QueueModel.STATUS, self.fontMetrics().horizontalAdvance("Running 100% · 99.9 fps") + 48)
        self.setToolTip(
            "The job queue, run from top to bottom. Drag rows to reorder; drop files or folders to add them; "
            "right-click for actions."
        )

    def queue_model(self) -> QueueModel:
        model = self.model()
        assert isinstance(model, QueueModel)
        return model

    def selected_ids(self) -> list[int]:
        """Ids of the selected items, in queue order."""
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        model = self.queue_model()
        return [model.item(r).id for r in rows]

    def select_ids(self, item_ids: list[int]) -> None:
        """Select these items (after a move), the first one current."""
        sel = self.selectionModel()
        sel.clearSelection()
        model = self.queue_model()
        first = True
        for item_id in item_ids:
            row = model.row_of(item_id)
            if row < 0:
                continue
            flags = sel.SelectionFlag.Select | sel.SelectionFlag.Rows
            if first:
                sel.setCurrentIndex(model.index(row, 0), flags)
                first = False
            else:
                sel.select(model.index(row, 0), flags)

    # ----- drag and drop -----
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls():
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls():
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if paths:
                self.pathsDropped.emit(paths)
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            return
        if mime.hasFormat(MIME_IDS) and event.source() is self:
            ids = [int(x) for x in bytes(mime.data(MIME_IDS).data()).decode().split(",") if x]
            pos = event.position().toPoint()
            index = self.indexAt(pos)
            model = self.queue_model()
            if not index.isValid():
                row = model.rowCount()
            else:
                rect = self.visualRect(index)
                row = index.row() + (1 if pos.y() > rect.center().y() else 0)
            model.move_to(ids, row)
            self.select_ids(ids)
            self.rowsMoved.emit()
            # Copy, not Move: the rows were moved here already, the drag must not remove the source rows.
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            return
        event.ignore()
