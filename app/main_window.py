"""The main window: queue, preview, settings, progress and log, wired to the queue controller.

The window draws and forwards what the user asks for; the controller decides, the engine's threads
work. Two hooks make it testable without blocking dialogs: ``confirm`` (asked before quitting
during a run) and ``report_error`` (shows a job's failure; non-modal by default).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QSize, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from vrt_engine.frame_range import FrameRange
from vrt_engine.video import frame_times

from .controller import QueueController
from .resources import app_icon
from .settings import AppSettings, apply_cache, default_cache_dir
from .widgets.cache_dialog import CacheDialog
from .widgets.compare_view import SIDE, SPLIT
from .widgets.drop_zone import DropZone
from .widgets.log_view import LogView
from .widgets.preview_panel import PreviewPanel
from .widgets.progress_panel import ProgressPanel
from .widgets.queue_table import QueueItem, QueueTable, Status
from .widgets.settings_form import MODEL_LABELS, SettingsForm
from .worker import Capabilities, Engine, preview_key

STATUS_TIMEOUT_MS = 15000
PREVIEW_CACHE_SIZE = 8  # model previews kept (two x4 images each: ~22 MB for 640x360 input)
# The style's one-colour glyphs: Fusion draws them black whatever the palette (unseen on a dark one), so
# the window redraws them in its text colour. Its other icons (folder, bin, reload) carry their own outlines.
GLYPH_ICONS = (
    QStyle.StandardPixmap.SP_MediaPlay,
    QStyle.StandardPixmap.SP_MediaPause,
    QStyle.StandardPixmap.SP_MediaStop,
    QStyle.StandardPixmap.SP_ArrowUp,
    QStyle.StandardPixmap.SP_ArrowDown,
)
VIDEO_FILTER = (
    "Videos (*.mp4 *.m4v *.mkv *.mov *.webm *.avi *.mpg *.mpeg *.ts *.m2ts *.mts *.wmv *.flv *.y4m *.ogv);;"
    "All files (*)"
)


def _ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    """Ask before quitting during a run; Enter and Esc keep the work going (only a click on quit stops it)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    quit_button = box.addButton("Cancel job and quit", QMessageBox.ButtonRole.DestructiveRole)
    keep_button = box.addButton("Keep running", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep_button)
    box.setEscapeButton(keep_button)
    box.exec()
    return box.clickedButton() is quit_button


def tinted_icon(icon: QIcon, colour: QColor, disabled: QColor) -> QIcon:
    """The icon's shape filled with one colour (``disabled`` for its disabled look, like the label beside it),
    drawn at menu, toolbar and high-DPI sizes."""
    tinted = QIcon()
    for size in (16, 24, 32, 48, 64):
        shape = icon.pixmap(QSize(size, size), 1.0).toImage()
        for mode, fill in ((QIcon.Mode.Normal, colour), (QIcon.Mode.Disabled, disabled)):
            image = shape.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
            painter = QPainter(image)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)  # keeps the alpha
            painter.fillRect(image.rect(), fill)
            painter.end()
            tinted.addPixmap(QPixmap.fromImage(image), mode)
    return tinted


def paths_from_mime(mime: QMimeData) -> list[str]:
    """Local paths from dropped or pasted data: file URLs, or text with one path (or file:// URL) a line."""
    if mime.hasUrls():
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if paths:
            return paths
    if mime.hasText():
        out = []
        for line in mime.text().splitlines():
            line = line.strip().strip('"').strip("'")
            if line.startswith("file://"):
                line = unquote(urlparse(line).path)
            if line:
                out.append(str(Path(line).expanduser()))
        return out
    return []


class MainWindow(QMainWindow):
    """The whole app on one screen."""

    def __init__(
        self,
        settings: AppSettings | None = None,
        confirm: Callable[[str, str], bool] | None = None,
        report_error: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__()
        self._icon_of: dict[QAction, QStyle.StandardPixmap] = {}  # redrawn when the palette changes
        self.settings = settings or AppSettings()
        self.confirm = confirm or (lambda title, text: _ask_yes_no(self, title, text))
        self.report_error = report_error or self._show_error_box
        self.error_box: QMessageBox | None = None
        self._errors: list[str] = []
        self._closing = False
        self._preview_item: int | None = None
        self._shown: tuple[int, int, bool] | None = None  # (item, frame, has model output)
        # (item, frame, preview_key) -> (bicubic, model): going back to a frame seen before costs nothing
        self._preview_cache: OrderedDict[tuple, tuple[QImage, QImage]] = OrderedDict()
        self._item_frames: dict[int, int] = {}  # the frame last looked at in each item, shown again on return
        self._capabilities: Capabilities | None = None

        self.setWindowTitle("VRT Upscaler")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)

        apply_cache(self.settings)  # before the engine loads any model
        self.engine = Engine(self)
        self.controller = QueueController(self.engine, self.settings, self)
        self._build_widgets()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._connect()
        self._restore_ui_state()
        self._update_scope()
        self._update_actions()
        self._update_progress()
        self.statusBar().showMessage("Drop videos to start; looking for devices…", STATUS_TIMEOUT_MS)
        self.log_view.append_line(f"preferences: {self.settings.file_name}")

    # ------------------------------------------------------------------ building
    def _build_widgets(self) -> None:
        c = self.controller
        self.drop_zone = DropZone(app_icon(), self)
        self.table = QueueTable(c.model, self)
        self.queue_stack = QStackedWidget(self)
        self.queue_stack.addWidget(self.drop_zone)
        self.queue_stack.addWidget(self.table)
        self.queue_stack.setToolTip("Jobs to upscale, in order")

        self.preview = PreviewPanel(self)
        self.preview.set_mode(self.settings.value("preview/mode"))
        self.preview.follow_box.setChecked(bool(self.settings.value("preview/follow_job")))

        self.form = SettingsForm(self)
        self.form.set_prefs(c.defaults)
        self.form.last_model_dir = str(self.settings.value("files/last_model_dir") or "")
        self.form_scroll = QScrollArea(self)
        self.form_scroll.setWidget(self.form)
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        self.form_scroll.setToolTip("Settings for new jobs, or for the jobs selected in the queue")

        self.log_view = LogView(self)
        self.progress = ProgressPanel(self)

        queue_box = self._boxed("Queue", self.queue_stack)
        preview_box = self._boxed("Preview", self.preview)
        log_box = self._boxed("Log", self.log_view)
        settings_box = self._boxed("Settings", self.form_scroll)

        self.left_splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.left_splitter.addWidget(queue_box)
        self.left_splitter.addWidget(preview_box)
        self.left_splitter.addWidget(log_box)
        self.left_splitter.setStretchFactor(0, 2)
        self.left_splitter.setStretchFactor(1, 5)
        self.left_splitter.setStretchFactor(2, 1)
        self.left_splitter.setChildrenCollapsible(False)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_splitter.addWidget(self.left_splitter)
        self.main_splitter.addWidget(settings_box)
        self.main_splitter.setStretchFactor(0, 1)
        self.main_splitter.setStretchFactor(1, 0)
        self.main_splitter.setChildrenCollapsible(False)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addWidget(self.main_splitter, 1)
        layout.addWidget(self.progress)
        self.setCentralWidget(central)

        self.engine_label = QLabel("Engine: starting…", self)
        self.engine_label.setToolTip("Devices the engine can use here")
        self.statusBar().addPermanentWidget(self.engine_label)

    def _boxed(self, title: str, widget: QWidget) -> QGroupBox:
        box = QGroupBox(title, self)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(widget)
        return box

    def _action(
        self,
        text: str,
        tip: str,
        slot: Callable[[], object],
        shortcuts: list[QKeySequence | str] | None = None,
        icon: QStyle.StandardPixmap | None = None,
    ) -> QAction:
        a = QAction(text, self)
        keys = [QKeySequence(k) for k in (shortcuts or [])]
        if keys:
            a.setShortcuts(keys)
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip = f"{tip} ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})"
        a.setToolTip(tip)
        a.setStatusTip(tip)
        if icon is not None:
            self._set_icon(a, icon)
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work even while the menu bar is hidden
        return a

    def _icon(self, which: QStyle.StandardPixmap) -> QIcon:
        """The style's icon; its black glyphs drawn in the window text colour, to read on light and dark."""
        icon = self.style().standardIcon(which)
        if which in GLYPH_ICONS:
            palette = self.palette()
            return tinted_icon(
                icon,
                palette.color(QPalette.ColorRole.WindowText),
                palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText),
            )
        return icon

    def _set_icon(self, action: QAction, which: QStyle.StandardPixmap) -> None:
        """Give an action a style icon, remembered for palette changes; drawn only when it changes
        (the pause action's icon is set at every state change)."""
        if self._icon_of.get(action) != which:
            self._icon_of[action] = which
            action.setIcon(self._icon(which))

    def changeEvent(self, event: QEvent) -> None:
        """A switch between light and dark: the glyph icons take the new text colour."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            for action, which in self._icon_of.items():
                action.setIcon(self._icon(which))

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        c = self.controller
        self.open_action = self._action(
            "&Open videos…",
            "Add video files to the queue",
            self.open_files,
            [QKeySequence.StandardKey.Open],
            sp.SP_DialogOpenButton,
        )
        self.open_folder_action = self._action(
            "Open &folder…",
            "Add every video in a folder (or a folder of PNG frames)",
            self.open_folder,
            ["Ctrl+Shift+O"],
            sp.SP_DirOpenIcon,
        )
        self.paste_action = self._action(
            "&Paste paths",
            "Add the files or folders whose paths are on the clipboard",
            self.paste_paths,
            [QKeySequence.StandardKey.Paste],
        )
        self.import_model_action = self._action(
            "&Import model…",
            "Use a .ckpt model, or import an authors' .pth into your model folder",
            self.form.browse_model,
        )
        self.cache_action = self._action(
            "Graph &cache…", "Where compiled models are kept between starts, or not at all", self.edit_cache
        )
        self.estimate_action = self._action(
            "&Estimate time",
            "Measure the selected jobs' model and plan on this machine (a short run in the engine, then kept) "
            "so the queue shows how long they will take",
            lambda: c.measure_estimates(self.table.selected_ids()),
        )
        self.quit_action = self._action("&Quit", "Close the window", self.close, [QKeySequence.StandardKey.Quit])

        self.start_action = self._action(
            "&Start", "Run the waiting jobs from the top", c.start, ["Ctrl+Return", "Ctrl+Enter"], sp.SP_MediaPlay
        )
        self.pause_action = self._action(
            "&Pause",
            "Pause the running job after its current chunk, or resume it",
            c.toggle_pause,
            ["Ctrl+P"],
            sp.SP_MediaPause,
        )
        self.cancel_action = self._action(
            "&Cancel",
            "Stop the queue and cancel the running job (finished parts are kept for a resume)",
            c.cancel,
            ["Ctrl+."],
            sp.SP_MediaStop,
        )
        self.start_item_action = self._action(
            "Start selected &now",
            "Run the selected waiting jobs next, and only them (at once if nothing runs)",
            self._start_selected,
            ["Ctrl+Shift+Return"],
        )
        self.cancel_item_action = self._action(
            "Cancel se&lected",
            "Cancel the selected job if it runs (the queue goes on), or skip waiting ones",
            lambda: c.cancel_items(self.table.selected_ids()),
            ["Ctrl+Shift+."],
        )
        self.move_up_action = self._action(
            "Move &up", "Move the selected jobs up the queue", lambda: self._move(-1), ["Alt+Up"], sp.SP_ArrowUp
        )
        self.move_down_action = self._action(
            "Move &down",
            "Move the selected jobs down the queue",
            lambda: self._move(1),
            ["Alt+Down"],
            sp.SP_ArrowDown,
        )
        self.remove_action = self._action(
            "&Remove",
            "Take the selected jobs off the queue",
            lambda: c.remove(self.table.selected_ids()),
            [QKeySequence.StandardKey.Delete],
            sp.SP_TrashIcon,
        )
        self.retry_action = self._action(
            "Re&try",
            "Run the selected failed or cancelled jobs again, and only them (cancelled ones resume where they "
            "stopped); while the queue runs they wait for their turn",
            lambda: c.retry(self.table.selected_ids()),
            ["Ctrl+R"],
            sp.SP_BrowserReload,
        )
        self.clear_action = self._action(
            "Clear &finished",
            "Take finished jobs off the queue",
            c.clear_finished,
            ["Ctrl+Shift+Backspace"],
            sp.SP_DialogResetButton,
        )

        self.side_action = self._action(
            "&Side by side",
            "Show input and output next to each other instead of one split picture",
            self._toggle_side,
            ["Ctrl+T"],
        )
        self.side_action.setCheckable(True)
        self.zoom_in_action = self._action(
            "Zoom &in", "Zoom into the preview", self.preview.view.zoom_in, [QKeySequence.StandardKey.ZoomIn]
        )
        self.zoom_out_action = self._action(
            "Zoom &out", "Zoom out of the preview", self.preview.view.zoom_out, [QKeySequence.StandardKey.ZoomOut]
        )
        self.fit_action = self._action("&Fit", "Fit the whole frame in the preview", self.preview.view.fit, ["Ctrl+0"])
        self.one_action = self._action(
            "&Actual pixels",
            "One output pixel per physical screen pixel (high-DPI screens included)",
            self.preview.view.set_actual_pixels,
            ["Ctrl+1"],
        )
        self.about_action = self._action("&About VRT Upscaler", "Version and credits", self.show_about)

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        for a in (self.open_action, self.open_folder_action, self.paste_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.import_model_action)
        file_menu.addAction(self.cache_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        queue_menu = mb.addMenu("&Queue")
        for a in (self.start_action, self.pause_action, self.cancel_action):
            queue_menu.addAction(a)
        queue_menu.addSeparator()
        for a in (
            self.start_item_action,
            self.cancel_item_action,
            self.retry_action,
            self.move_up_action,
            self.move_down_action,
            self.remove_action,
            self.clear_action,
        ):
            queue_menu.addAction(a)
        view_menu = mb.addMenu("&View")
        for a in (self.side_action, self.zoom_in_action, self.zoom_out_action, self.fit_action, self.one_action):
            view_menu.addAction(a)
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.about_action)
        for menu in (file_menu, queue_menu, view_menu, help_menu):
            menu.setToolTipsVisible(True)

        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.open_action)
        tb.addSeparator()
        tb.addAction(self.start_action)
        tb.addAction(self.pause_action)
        tb.addAction(self.cancel_action)
        tb.addSeparator()
        tb.addAction(self.move_up_action)
        tb.addAction(self.move_down_action)
        tb.addAction(self.remove_action)
        tb.addAction(self.retry_action)
        self.addToolBar(tb)
        self.toolbar = tb

        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for a in (
            self.start_item_action,
            self.cancel_item_action,
            self.pause_action,
            self.retry_action,
            self.estimate_action,
            self.move_up_action,
            self.move_down_action,
            self.remove_action,
        ):
            self.table.addAction(a)

    def edit_cache(self) -> None:
        """The graph cache's folder and switch (saved, and used from the next model loaded)."""
        folder = str(self.settings.value("cache/folder") or "")
        dialog = CacheDialog(folder, bool(self.settings.value("cache/enabled")), default_cache_dir(), self)
        if dialog.exec() == CacheDialog.DialogCode.Accepted:
            folder, enabled = dialog.values()
            self.settings.set_value("cache/folder", folder)
            self.settings.set_value("cache/enabled", enabled)
            self.settings.sync()
            apply_cache(self.settings)

    def _connect(self) -> None:
        c = self.controller
        c.statusMessage.connect(lambda text: self.statusBar().showMessage(text, STATUS_TIMEOUT_MS))
        c.logLine.connect(self.log_view.append_line)
        c.errorReported.connect(lambda title, reason: self.report_error(title, reason))
        c.stateChanged.connect(self._update_actions)
        c.stateChanged.connect(self._update_progress)
        c.itemChanged.connect(self._on_item_changed)
        c.itemsAdded.connect(self._on_items_added)
        c.idle.connect(self._on_idle)
        c.jobStarted.connect(self._on_job_started)
        c.jobPreview.connect(self._on_job_preview)
        c.previewStarted.connect(self._on_preview_started)
        c.previewReady.connect(self._on_preview_ready)
        c.modelReady.connect(lambda _model: self._preview_cache.clear())  # new weights may reuse a name
        c.previewFailed.connect(self._on_preview_failed)
        c.frameReady.connect(self._on_frame_ready)
        c.frameFailed.connect(self._on_preview_failed)
        c.capabilities.connect(self._on_capabilities)
        c.modelReady.connect(self.form.choose_model)
        c.architectureNeeded.connect(self._ask_architecture)

        model = c.model
        model.rowsInserted.connect(self._update_queue_page)
        model.rowsRemoved.connect(self._update_queue_page)
        model.modelReset.connect(self._update_queue_page)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.pathsDropped.connect(self.add_paths)
        self.table.rowsMoved.connect(self._update_actions)
        self.drop_zone.pathsDropped.connect(self.add_paths)
        self.drop_zone.clicked.connect(self.open_files)

        self.form.edited.connect(self._on_form_edited)
        self.form.modelFileChosen.connect(self._on_model_file)
        self.form.saveAsDefaults.connect(self._save_form_as_defaults)
        self.form.resetToDefaults.connect(self._reset_selected_to_defaults)
        self.form.applyToWaiting.connect(c.apply_defaults_to_waiting)
        self.form.editDefaults.connect(self.table.clearSelection)

        self.preview.frameChosen.connect(self._on_frame_chosen)
        self.preview.previewRequested.connect(self._on_preview_requested)
        self.preview.inPointChosen.connect(lambda frame: self._set_range_point(frame, None))
        self.preview.outPointChosen.connect(lambda frame: self._set_range_point(None, frame))
        self.preview.rangeCleared.connect(lambda: self._set_range_point(None, None, clear=True))
        self.preview.modeChanged.connect(self._on_mode_changed)
        self.preview.followChanged.connect(lambda on: self.settings.set_value("preview/follow_job", on))

    # ------------------------------------------------------------------ adding files
    def add_paths(self, paths: list[str]) -> None:
        """Queue these files or folders (probed off the UI thread; unsupported ones are refused)."""
        self.controller.add_paths(paths)

    def open_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add videos", str(self.settings.value("files/last_dir") or ""), VIDEO_FILTER
        )
        if files:
            self.settings.set_value("files/last_dir", str(Path(files[0]).parent))
            self.add_paths(files)

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Add a folder", str(self.settings.value("files/last_dir") or "")
        )
        if folder:
            self.settings.set_value("files/last_dir", folder)
            self.add_paths([folder])

    def paste_paths(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        paths = paths_from_mime(mime) if mime is not None else []
        if paths:
            self.add_paths(paths)
        else:
            self.statusBar().showMessage("The clipboard holds no file or folder paths", STATUS_TIMEOUT_MS)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = paths_from_mime(event.mimeData())
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    # ------------------------------------------------------------------ queue view
    def _update_queue_page(self, *_args: object) -> None:
        self.queue_stack.setCurrentWidget(self.table if self.controller.model.rowCount() else self.drop_zone)
        self._update_actions()
        self._update_progress()

    def _on_items_added(self, ids: list[int]) -> None:
        if self._preview_item is None and ids:
            self.table.select_ids(ids[:1])

    def _start_selected(self) -> None:
        ids = self.table.selected_ids()
        self.controller.start_items(ids)
        self.table.select_ids(ids)  # moving them up the queue resets the table's selection

    def _move(self, delta: int) -> None:
        ids = self.table.selected_ids()
        if self.controller.move(ids, delta):
            self.table.select_ids(ids)

    def _selected_items(self) -> list[QueueItem]:
        model = self.controller.model
        return [it for it in (model.find(i) for i in self.table.selected_ids()) if it is not None]

    def _update_actions(self) -> None:
        c = self.controller
        items = self._selected_items()
        statuses = {it.status for it in items}
        has_waiting = c.model.next_waiting() is not None
        self.start_action.setEnabled(has_waiting or c.paused)
        self.pause_action.setEnabled(c.busy)
        self.pause_action.setText("&Resume" if c.paused else "&Pause")
        self._set_icon(
            self.pause_action,
            QStyle.StandardPixmap.SP_MediaPlay if c.paused else QStyle.StandardPixmap.SP_MediaPause,
        )
        self.cancel_action.setEnabled(c.busy or c.queue_running)
        self.start_item_action.setEnabled(Status.WAITING in statuses)
        self.cancel_item_action.setEnabled(
            bool(statuses & {Status.WAITING, Status.PREPARING, Status.RUNNING, Status.PAUSED})
        )
        self.move_up_action.setEnabled(bool(items))
        self.move_down_action.setEnabled(bool(items))
        self.remove_action.setEnabled(bool(items) and not any(it.id == c.current_id for it in items))
        self.retry_action.setEnabled(bool(statuses & {Status.FAILED, Status.CANCELLED}))
        self.clear_action.setEnabled(any(it.status == Status.DONE for it in c.model.items()))
        self.setWindowTitle(self._window_title())

    def _window_title(self) -> str:
        """The running job's progress, and a pause or cancel under way, as the status column words them:
        the task bar shows the title while the window is hidden."""
        item = self.controller.current
        if item is None:
            return "VRT Upscaler"
        if item.pending:
            state = f"{item.pending.capitalize()} "
        elif item.status == Status.PAUSED:
            state = "Paused "
        else:
            state = ""
        return f"{state}{item.fraction:.0%} · {item.name} — VRT Upscaler"

    def _update_progress(self) -> None:
        self.progress.show_job(self.controller.current)
        self.progress.show_queue(self.controller.overall())

    def _on_item_changed(self, item_id: int) -> None:
        self._update_progress()
        item = self.controller.model.find(item_id)
        if item is not None and item_id == self._preview_item and item.status in (Status.DONE, Status.CANCELLED):
            if self._shown is not None and self._shown[2]:
                self._set_preview_status(f"Frame {self._shown[1]} · {item.status.value.lower()}", over_picture=False)
        if item_id == self.controller.current_id:
            self.setWindowTitle(self._window_title())
        if item_id in self.table.selected_ids():
            self._update_actions()
            self._update_scope()
        if item is not None and item_id == self._preview_item:
            self._show_range(item)

    # ------------------------------------------------------------------ settings form
    def _on_selection(self, *_args: object) -> None:
        self._update_actions()
        self._update_scope()
        items = self._selected_items()
        if len(items) == 1:
            item = items[0]
            running = self.controller.current_id
            if item.id != running and self.preview.follow and running is not None:
                self.preview.follow_box.setChecked(False)  # the user wants to look at another job
            self._show_item_in_preview(item)

    def _update_scope(self) -> None:
        items = self._selected_items()
        if not items:
            self.form.set_scope(None)
            self.form.set_prefs(self.controller.defaults)
        else:
            editable = all(it.status.editable for it in items)
            self.form.set_scope([it.name for it in items], editable)
            self.form.set_prefs(items[0].prefs)

    def _on_form_edited(self) -> None:
        prefs = self.form.prefs()
        items = self._selected_items()
        if not items:
            self.controller.set_defaults(prefs)
            return
        before = {it.id: (it.prefs.model, it.prefs.device, it.prefs.tile, it.prefs.chunk) for it in items}
        self.controller.set_item_prefs([it.id for it in items], prefs)
        key = (prefs.model, prefs.device, prefs.tile, prefs.chunk)
        if self._preview_item in before and before[self._preview_item] != key:
            item = self.controller.model.find(self._preview_item)
            if item is not None:
                self._request(item, self.preview.frame)

    def _save_form_as_defaults(self) -> None:
        self.controller.set_defaults(self.form.prefs())
        self.statusBar().showMessage("Saved as the defaults for new jobs", STATUS_TIMEOUT_MS)

    def _reset_selected_to_defaults(self) -> None:
        ids = self.table.selected_ids()
        self.controller.set_item_prefs(ids, self.controller.defaults)
        self._update_scope()

    def _on_model_file(self, path: str) -> None:
        self.settings.set_value("files/last_model_dir", str(Path(path).parent))
        self.controller.use_model_file(path)

    def _ask_architecture(self, pth: str) -> None:
        """A .pth that fits no preset: its architecture comes from a YAML file of VRT's constructor arguments."""
        name = Path(pth).name
        arch, _ = QFileDialog.getOpenFileName(
            self,
            f"{name} is not a known model: choose its architecture file",
            str(Path(pth).parent),
            "Architecture (*.yaml *.yml *.json);;All files (*)",
        )
        if arch:
            self.controller.import_pth(pth, arch)
        else:
            self.controller.architecture_not_given(pth)

    def _on_capabilities(self, caps: Capabilities) -> None:
        self._capabilities = caps
        self.form.set_devices(list(caps.devices))
        self.form.set_models(list(caps.models), list(caps.model_files))
        self._update_scope()
        accel = [d for d in caps.devices if d != "cpu"]
        self.engine_label.setText("Engine: " + (", ".join(d.upper() for d in accel) + " + CPU" if accel else "CPU"))
        self.engine_label.setToolTip("Devices the engine can use here: " + ", ".join(caps.devices))
        if not caps.models and not caps.model_files:
            text = (
                "No model weights are installed (the built-in assets/models/tiny.ckpt is missing): "
                "choose a model file (.ckpt or .pth) in Settings, or Bicubic"
            )
            self.log_view.append_line(text, "warning")
            self.statusBar().showMessage(text, STATUS_TIMEOUT_MS)
        elif "tiny" not in caps.models:
            self.log_view.append_line(
                "the built-in tiny model has no weights here; jobs with it will fail (choose another model)",
                "warning",
            )

    # ------------------------------------------------------------------ preview
    def _preview_caption(self, item: QueueItem | None) -> tuple[str, str]:
        model = item.prefs.model if item else self.controller.defaults.model
        label = MODEL_LABELS.get(model, Path(model).name)
        return "Input · bicubic ×4", ("Bicubic (no model)" if model == "bicubic" else f"VRT · {label}")

    def _show_item_in_preview(self, item: QueueItem, frame: int | None = None) -> None:
        """Point the preview at an item and ask for a frame of it."""
        changed = item.id != self._preview_item
        self._preview_item = item.id
        self.preview.view.set_captions(*self._preview_caption(item))
        if changed:
            middle = min(item.info.frame_count - 1, item.info.frame_count // 2)
            start = frame if frame is not None else self._item_frames.get(item.id, middle)
            self.preview.set_source(item.info.frame_count, start, frame_times(item.info))
            self.preview.view.clear()
            self._request(item, self.preview.frame)
        self._show_range(item)

    def _show_range(self, item: QueueItem) -> None:
        r = item.frame_range
        self.preview.show_range(r.first if r else None, r.stop if r else None, item.status.editable)

    def _set_range_point(self, first: int | None, last: int | None, clear: bool = False) -> None:
        """In (``first``) or Out (``last``, included) on the previewed job; the other end stays where it was
        unless it would come before the new one, then it goes to the input's start or end."""
        item = self.controller.model.find(self._preview_item) if self._preview_item is not None else None
        if item is None:
            return
        total = item.info.frame_count
        old = item.frame_range
        rng = None
        if not clear:
            start = first if first is not None else (old.first if old else 0)
            stop = last + 1 if last is not None else (old.stop if old else total)
            if stop <= start:  # the other end was on the wrong side of the new one
                start, stop = (start, total) if first is not None else (0, stop)
            rng = FrameRange(start, stop)
        self.controller.set_item_range(item.id, rng)
        self._show_range(item)

    def _request(self, item: QueueItem, frame: int) -> None:
        self._item_frames[item.id] = frame
        cached = self._preview_cache.get((item.id, frame, preview_key(item.prefs.job_settings())))
        if cached is not None:
            self._show_preview(item.id, frame, *cached)
            return
        self._shown = None
        self.controller.request_frame(item.id, frame)
        self.controller.request_preview(item.id, frame)
        self._set_preview_status(self._preview_wait_text(item, frame))

    def _preview_wait_text(self, item: QueueItem, frame: int) -> str:
        if self.controller.preview_waits_for_job(item.id):
            return "Model preview waits for the running job to finish (it uses another model)"
        if self.controller.busy:
            return f"Upscaling frame {frame} at the running job's next chunk…"
        return f"Upscaling frame {frame}…"

    def _set_preview_status(self, text: str, over_picture: bool = True) -> None:
        self.preview.set_status(text)
        self.preview.view.set_message(text if over_picture else "")

    def _on_frame_chosen(self, frame: int) -> None:
        item = self.controller.model.find(self._preview_item) if self._preview_item is not None else None
        if item is None:
            return
        if self.preview.follow and item.id == self.controller.current_id:
            self.preview.follow_box.setChecked(False)  # the user picked a frame: stop jumping to the job's
        self._request(item, frame)

    def _on_preview_requested(self, frame: int) -> None:
        if self._preview_item is not None:
            item = self.controller.model.find(self._preview_item)
            if item is not None:
                self.preview.view.set_captions(*self._preview_caption(item))
                self.controller.request_preview(item.id, frame)
                self._set_preview_status(self._preview_wait_text(item, frame))

    def _on_frame_ready(self, item_id: int, frame: int, image: QImage) -> None:
        if item_id != self._preview_item or frame != self.preview.frame:
            return
        if self._shown is not None and self._shown[:2] == (item_id, frame) and self._shown[2]:
            return  # the model's preview came first; keep it
        self.preview.view.set_images(image, None)
        self._shown = (item_id, frame, False)

    def _on_preview_started(self, item_id: int, stage: str) -> None:
        if item_id == self._preview_item:
            self._set_preview_status(
                "Preparing model… (the first run compiles it)"
                if "model" in stage
                else f"Upscaling frame {self.preview.frame}…"
            )

    def _on_preview_ready(self, item_id: int, frame: int, bicubic: QImage, upscaled: QImage, key: tuple) -> None:
        self._preview_cache[(item_id, frame, key)] = (bicubic, upscaled)
        self._preview_cache.move_to_end((item_id, frame, key))
        while len(self._preview_cache) > PREVIEW_CACHE_SIZE:
            self._preview_cache.popitem(last=False)
        if item_id != self._preview_item or frame != self.preview.frame:
            return
        self._show_preview(item_id, frame, bicubic, upscaled)

    def _show_preview(self, item_id: int, frame: int, bicubic: QImage, upscaled: QImage) -> None:
        self.preview.view.set_images(bicubic, upscaled)
        self._shown = (item_id, frame, True)
        self._set_preview_status(f"Frame {frame}", over_picture=False)

    def _on_preview_failed(self, item_id: int, reason: str) -> None:
        if item_id == self._preview_item:
            self._set_preview_status(f"No preview: {reason}")

    def _on_job_started(self, item_id: int) -> None:
        item = self.controller.model.find(item_id)
        if item is None:
            return
        if self.preview.follow:
            if item_id != self._preview_item:
                self._preview_item = item_id
                self.preview.set_source(
                    item.info.frame_count, item.frame_range.first if item.frame_range else 0, frame_times(item.info)
                )
                self.preview.view.clear()
            self._show_range(item)
            self.preview.view.set_captions(*self._preview_caption(item))
            self._set_preview_status(item.message or "Preparing model…")
        self._update_actions()
        self._update_progress()

    def _on_job_preview(self, item_id: int, frame: int, bicubic: QImage, upscaled: QImage) -> None:
        if not self.preview.follow:
            return
        if item_id != self._preview_item:
            item = self.controller.model.find(item_id)
            if item is None:
                return
            self._preview_item = item_id
            self.preview.set_source(item.info.frame_count, frame, frame_times(item.info))
            self.preview.view.set_captions(*self._preview_caption(item))
            self._show_range(item)
        self.preview.show_frame_index(frame)
        self.preview.view.set_images(bicubic, upscaled)
        self._shown = (item_id, frame, True)
        self._set_preview_status(f"Frame {frame} of the running job", over_picture=False)

    def _on_mode_changed(self, mode: str) -> None:
        self.side_action.setChecked(mode == SIDE)
        self.settings.set_value("preview/mode", mode)

    def _toggle_side(self) -> None:
        self.preview.set_mode(SIDE if self.side_action.isChecked() else SPLIT)
        self.settings.set_value("preview/mode", self.preview.view.mode)

    # ------------------------------------------------------------------ errors, about
    def _show_error_box(self, title: str, reason: str) -> None:
        """A non-modal message box: the queue goes on while it is open; later failures are added to it."""
        if self.error_box is None or not self.error_box.isVisible():
            self._errors = []
            box = QMessageBox(QMessageBox.Icon.Warning, "VRT Upscaler", "", QMessageBox.StandardButton.Ok, self)
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
            self.error_box = box
        self._errors.append(f"{title}: {reason}")
        box = self.error_box
        if len(self._errors) == 1:
            box.setText(title)
            box.setInformativeText(reason)
        else:
            box.setText(f"{len(self._errors)} jobs failed")
            box.setInformativeText("\n".join(self._errors[-8:]))
        box.show()
        box.raise_()

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About VRT Upscaler")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setText("<b>VRT Upscaler</b>")
        box.setInformativeText(
            "x4 video super-resolution with VRT, the Video Restoration Transformer "
            "(Liang et al., arXiv 2201.12288), running on MindSpore."
        )
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask before quitting during a run; then cancel, wait for the job to stop, and close."""
        c = self.controller
        if c.busy:
            if not self._closing:
                if not self.confirm(
                    "Quit while upscaling?",
                    "A job is running. Quit and cancel it?\n\nThe finished part is kept: the job resumes where "
                    "it stopped when you add the same video with the same settings again.",
                ):
                    event.ignore()
                    return
                self._closing = True
                c.cancel()
                self.statusBar().showMessage("Cancelling the running job before quitting…")
            event.ignore()  # closes from _on_idle once the worker has stopped
            return
        self._save_ui_state()
        c.shutdown()
        if self.error_box is not None:
            self.error_box.close()
        event.accept()

    @Slot()
    def _on_idle(self) -> None:
        self._update_actions()
        self._update_progress()
        if self._closing and not self.controller.busy:
            QTimer.singleShot(0, self.close)

    def _save_ui_state(self) -> None:
        s = self.settings
        s.set_value("window/geometry", self.saveGeometry())
        s.set_value("window/state", self.saveState())
        s.set_value("window/main_splitter", self.main_splitter.saveState())
        s.set_value("window/left_splitter", self.left_splitter.saveState())
        s.set_value("preview/mode", self.preview.view.mode)
        s.set_value("preview/follow_job", self.preview.follow)
        s.set_value("files/last_model_dir", self.form.last_model_dir)
        s.set_job_defaults(self.controller.defaults)
        s.sync()

    def _restore_ui_state(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen is not None else None
            w, h = 1280, 860
            if avail is not None and avail.width() > 0:
                w, h = min(w, int(avail.width() * 0.92)), min(h, int(avail.height() * 0.92))
            self.resize(w, h)
            self.main_splitter.setSizes([w - 380, 380])
            self.left_splitter.setSizes([int(h * 0.24), int(h * 0.5), int(h * 0.14)])
        for key, splitter in (
            ("window/main_splitter", self.main_splitter),
            ("window/left_splitter", self.left_splitter),
        ):
            state = s.value(key)
            if isinstance(state, QByteArray) and not state.isEmpty():
                splitter.restoreState(state)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self.side_action.setChecked(self.preview.view.mode == SIDE)
