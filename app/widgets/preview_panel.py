"""The preview area: the compare view with a frame slider, mode switch and zoom controls.

It only asks (signals) for frames and previews; the main window answers through the controller.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .compare_view import SIDE, SPLIT, CompareView

SCRUB_DELAY_MS = 250  # wait for the slider to rest before decoding a frame


class PreviewPanel(QWidget):
    """Compare view plus its controls; emits ``frameChosen`` when the user settles on a frame."""

    frameChosen = Signal(int)  # show this input frame and preview it
    previewRequested = Signal(int)  # run the model on this frame again
    modeChanged = Signal(str)
    followChanged = Signal(bool)
    inPointChosen = Signal(int)  # the part to upscale starts at this frame
    outPointChosen = Signal(int)  # ... and ends with this frame (included)
    rangeCleared = Signal()  # upscale the whole input

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = CompareView(self)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Frame to preview: the input (bicubic x4) and the model's output for it")
        self.spin = QSpinBox(self)
        self.spin.setRange(0, 0)
        self.spin.setAcceptDrops(False)
        self.spin.setToolTip("Frame number to preview (0 is the first frame)")
        self.total_label = QLabel("/ 0", self)
        self.total_label.setToolTip("Number of the previewed input's last frame")
        self.time_label = QLabel("", self)
        self.time_label.setToolTip(
            "When this frame is shown, from the input's own timestamps (variable frame rate included)"
        )
        self._times: Sequence[float] = ()

        self.preview_button = QToolButton(self)
        self.preview_button.setText("Preview")
        self.preview_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.preview_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preview_button.setToolTip("Run the model on this frame again with the job's current settings (P)")
        self.preview_button.setShortcut("P")

        self.in_button = self._tool("In", "Start the part to upscale at this frame (I)")
        self.in_button.setShortcut("I")
        self.out_button = self._tool("Out", "End the part to upscale with this frame (O)")
        self.out_button.setShortcut("O")
        self.clear_range_button = self._tool("All", "Upscale the whole input again, not a part of it")
        self.range_label = QLabel("All frames", self)
        self.range_label.setToolTip("The part of the input the job upscales (set with In and Out)")

        self.split_button = QToolButton(self)
        self.split_button.setText("Split")
        self.split_button.setCheckable(True)
        self.split_button.setToolTip("One picture with a movable split line: input left, model output right")
        self.side_button = QToolButton(self)
        self.side_button.setText("Side by side")
        self.side_button.setCheckable(True)
        self.side_button.setToolTip("Input and model output next to each other, zoom and pan kept in sync")
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.split_button)
        group.addButton(self.side_button)
        self.split_button.setChecked(True)

        self.zoom_out_button = self._tool("−", "Zoom out (Ctrl+-)")
        self.zoom_fit_button = self._tool("Fit", "Fit the whole frame in view (Ctrl+0, or double-click the picture)")
        self.zoom_one_button = self._tool("1:1", "Actual pixels: one output pixel per physical screen pixel (Ctrl+1)")
        self.zoom_in_button = self._tool("+", "Zoom in (Ctrl++)")
        self.zoom_label = QLabel("Fit", self)
        self.zoom_label.setToolTip("Current zoom")
        self.zoom_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("3200%") + 8)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.follow_box = QCheckBox("Follow running job", self)
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("While a job runs, show its newest upscaled frame here")

        self.status_label = QLabel("", self)
        self.status_label.setToolTip("What the preview is showing or waiting for")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.split_button)
        top.addWidget(self.side_button)
        top.addSpacing(12)
        top.addWidget(self.zoom_out_button)
        top.addWidget(self.zoom_fit_button)
        top.addWidget(self.zoom_one_button)
        top.addWidget(self.zoom_in_button)
        top.addWidget(self.zoom_label)
        top.addSpacing(12)
        top.addWidget(self.status_label, 1)
        top.addWidget(self.follow_box)

        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(QLabel("Frame", self))
        bottom.addWidget(self.slider, 1)
        bottom.addWidget(self.spin)
        bottom.addWidget(self.total_label)
        bottom.addWidget(self.time_label)
        bottom.addWidget(self.preview_button)
        bottom.addSpacing(12)
        bottom.addWidget(self.in_button)
        bottom.addWidget(self.out_button)
        bottom.addWidget(self.clear_range_button)
        bottom.addWidget(self.range_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)

        self._scrub = QTimer(self)
        self._scrub.setSingleShot(True)
        self._scrub.setInterval(SCRUB_DELAY_MS)
        self._scrub.timeout.connect(lambda: self.frameChosen.emit(self.slider.value()))
        self._quiet = False  # set while the panel moves the slider itself

        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self.slider.setValue)
        self.preview_button.clicked.connect(lambda: self.previewRequested.emit(self.slider.value()))
        self.in_button.clicked.connect(lambda: self.inPointChosen.emit(self.slider.value()))
        self.out_button.clicked.connect(lambda: self.outPointChosen.emit(self.slider.value()))
        self.clear_range_button.clicked.connect(self.rangeCleared)
        self.split_button.toggled.connect(lambda on: on and self._set_mode(SPLIT))
        self.side_button.toggled.connect(lambda on: on and self._set_mode(SIDE))
        self.zoom_in_button.clicked.connect(self.view.zoom_in)
        self.zoom_out_button.clicked.connect(self.view.zoom_out)
        self.zoom_fit_button.clicked.connect(self.view.fit)
        self.zoom_one_button.clicked.connect(self.view.set_actual_pixels)
        self.view.zoomChanged.connect(self._on_zoom)
        self.follow_box.toggled.connect(self.followChanged)
        self.set_enabled_controls(False)

    def _tool(self, text: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setMinimumWidth(self.fontMetrics().horizontalAdvance("1:1") + 16)
        b.setAutoRaise(False)
        b.setIcon(QIcon())
        return b

    # ----- state from outside -----
    def set_source(self, frame_count: int, frame: int = 0, times: Sequence[float] = ()) -> None:
        """A new input to preview: its length, the frame to start at, and each frame's time in seconds."""
        self._times = times if len(times) == frame_count else ()
        self._quiet = True
        try:
            last = max(0, frame_count - 1)
            self.slider.setRange(0, last)
            self.spin.setRange(0, last)
            self.slider.setPageStep(max(1, frame_count // 20))
            self.slider.setValue(min(frame, last))
            self.spin.setValue(min(frame, last))
            self.total_label.setText(f"/ {last}")
        finally:
            self._quiet = False
        self._show_time(self.slider.value())
        self.set_enabled_controls(frame_count > 0)

    def show_frame_index(self, frame: int) -> None:
        """Move the slider to a frame the panel was given (a running job's preview) without asking for it."""
        self._quiet = True
        try:
            self.slider.setValue(frame)
            self.spin.setValue(frame)
        finally:
            self._quiet = False

    def set_enabled_controls(self, enabled: bool) -> None:
        for w in (self.slider, self.spin, self.preview_button, self.in_button, self.out_button):
            w.setEnabled(enabled)

    def show_range(self, first: int | None, stop: int | None, editable: bool = True) -> None:
        """Say which part of the previewed input its job upscales (None: all of it)."""
        if first is None or stop is None:
            self.range_label.setText("All frames")
        else:
            self.range_label.setText(f"Frames {first}–{stop - 1} ({stop - first})")
        for w in (self.in_button, self.out_button):
            w.setEnabled(editable and self.slider.isEnabled())
        self.clear_range_button.setEnabled(editable and first is not None)

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(text or "What the preview is showing or waiting for")

    def set_mode(self, mode: str) -> None:
        (self.side_button if mode == SIDE else self.split_button).setChecked(True)
        self.view.set_mode(mode)

    @property
    def follow(self) -> bool:
        return self.follow_box.isChecked()

    @property
    def frame(self) -> int:
        return self.slider.value()

    # ----- internal -----
    def _set_mode(self, mode: str) -> None:
        self.view.set_mode(mode)
        self.modeChanged.emit(mode)

    def _show_time(self, frame: int) -> None:
        self.time_label.setText(f"at {format_time(self._times[frame])}" if 0 <= frame < len(self._times) else "")

    def _on_slider(self, value: int) -> None:
        self._show_time(value)
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        if not self._quiet:
            self._scrub.start()

    def _on_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")


def format_time(seconds: float) -> str:
    """m:ss.mmm (h:mm:ss.mmm past an hour): a frame's time, to the millisecond."""
    ms = round(seconds * 1000)
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{sign}{h}:{m:02d}:{s:02d}.{ms:03d}" if h else f"{sign}{m}:{s:02d}.{ms:03d}"
