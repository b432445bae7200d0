"""The settings form: model, device, sizes, output. Edits a :class:`JobPrefs` (the defaults or a job's).

It knows nothing of the engine: the main window tells it which devices and models exist.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..settings import CODECS, DEINTERLACE_MODES, ENCODER_PRESETS, LOSSY_CODECS, JobPrefs

# What each model costs, in plain figures: tiny's time per frame from `bench/workers_speed.py --workers 2`
# (2-core CPU, 10.56 s per 640x360 frame, issue 23), REDS's work from its FLOPs per forward (about 1,100
# GFLOP against tiny's 16 on 6x64x64 frames). The queue's "Est. time" column gives each job's own time on
# this machine once its model and plan were measured (vrt_engine.estimate).
MODEL_LABELS = {
    "tiny": "Built-in tiny (smallest; about 10 s per 640x360 frame on 2 CPU cores)",
    "reds_6f": "REDS, 6 frames (paper; about 70x tiny's work per frame)",
    "reds_16f": "REDS, 16 frames (paper; more work and memory than 6 frames)",
    "bicubic": "Bicubic only (no model; instant)",
}
DEINTERLACE_LABELS = {
    "auto": "Auto (detect)",
    "off": "Off",
    "frame": "Always, same frame rate",
    "field": "Always, one frame per field",
}
CODEC_LABELS = {
    "h264": "H.264 (.mp4)",
    "h265": "H.265 / HEVC (.mp4)",
    "ffv1": "FFV1 lossless (.mkv)",
    "vp9": "VP9 (.webm)",
    "png": "PNG frames (folder)",
}
BROWSE_MODEL = "\x00browse"
NAMED_MODELS = ("tiny", "reds_6f", "reds_16f")  # names that need weights installed (bicubic needs none)


def device_label(name: str) -> str:
    """'gpu:0' -> 'GPU 0', 'cpu' -> 'CPU'."""
    if name == "auto":
        return "Automatic (fastest available)"
    kind, _, index = name.partition(":")
    return f"{kind.upper()} {index}".strip() if kind != "ascend" else f"Ascend {index}".strip()


class SettingsForm(QWidget):
    """Shows and edits one JobPrefs; says whose settings they are in its title."""

    edited = Signal()  # the user changed a field
    modelFileChosen = Signal(str)  # a .ckpt or .pth picked with the file dialog
    saveAsDefaults = Signal()
    resetToDefaults = Signal()
    applyToWaiting = Signal()
    editDefaults = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._named: list[str] = ["tiny"]
        self._have_weights: set[str] = set()  # named models whose weights are installed here
        self._files: list[str] = []
        self._previous_model = "tiny"  # where the model combo goes back to after "Other model file…"
        self.last_model_dir = ""

        self.title = QLabel(self)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setToolTip("Whose settings this form edits: the defaults for new jobs, or the selected jobs")

        # ----- model group -----
        self.model_combo = QComboBox(self)
        self.model_combo.setToolTip(
            "Upscaling model: the built-in tiny model, the authors' REDS models once imported, "
            "any .ckpt, or a .pth (converted into your model folder on import)"
        )
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(14)
        self.model_browse = QToolButton(self)
        self.model_browse.setText("…")
        self.model_browse.setToolTip("Choose a model file (.ckpt, or an authors' .pth to import)")
        self.device_combo = QComboBox(self)
        self.device_combo.setToolTip("Where the model runs; only devices MindSpore can use here are listed")
        self.tile_spin = QSpinBox(self)
        self.tile_spin.setRange(0, 4096)
        self.tile_spin.setSingleStep(64)
        self.tile_spin.setSpecialValueText("Auto")
        self.tile_spin.setSuffix(" px")
        self.tile_spin.setToolTip(
            "Spatial tile size in input pixels. Auto picks the largest that fits in memory; "
            "smaller tiles use less memory but run slower"
        )
        self.chunk_spin = QSpinBox(self)
        self.chunk_spin.setRange(0, 256)
        self.chunk_spin.setSpecialValueText("Auto")
        self.chunk_spin.setSuffix(" frames")
        self.chunk_spin.setToolTip(
            "Frames the model sees at once (temporal chunk). Auto picks from free memory; "
            "longer chunks give the model more context"
        )

        self.model_warning = QLabel(self)
        self.model_warning.setWordWrap(True)
        self.model_warning.setTextFormat(Qt.TextFormat.PlainText)
        self.model_warning.setToolTip("Why jobs with this model cannot run yet, and what to do")
        self.model_warning.hide()

        model_row = QHBoxLayout()
        model_row.setContentsMargins(0, 0, 0, 0)
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.model_browse)
        model_box = QGroupBox("Model", self)
        model_form = QFormLayout(model_box)
        model_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        model_form.addRow("Model", model_row)
        model_form.addRow(self.model_warning)
        model_form.addRow("Device", self.device_combo)
        model_form.addRow("Tile", self.tile_spin)
        model_form.addRow("Chunk", self.chunk_spin)

        # ----- output group -----
        self.folder_edit = QLineEdit(self)
        self.folder_edit.setPlaceholderText("Beside each input")
        self.folder_edit.setClearButtonEnabled(True)
        self.folder_edit.setToolTip("Folder for the upscaled files; empty: next to each input as NAME_x4")
        self.folder_browse = QToolButton(self)
        self.folder_browse.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.folder_browse.setToolTip("Choose the output folder")
        self.codec_combo = QComboBox(self)
        for codec in CODECS:
            self.codec_combo.addItem(CODEC_LABELS[codec], codec)
        self.codec_combo.setToolTip(
            "Video codec and container of the output. MKV and MOV inputs keep their container for H.264/H.265"
        )
        self.crf_spin = QSpinBox(self)
        self.crf_spin.setRange(0, 51)
        self.crf_spin.setToolTip("Constant rate factor: lower is better quality and a bigger file (18 looks lossless)")
        self.preset_combo = QComboBox(self)
        self.preset_combo.addItems(list(ENCODER_PRESETS))
        self.preset_combo.setToolTip("Encoder speed: slower presets make smaller files at the same quality")
        self.audio_box = QCheckBox("Keep audio", self)
        self.audio_box.setToolTip("Copy the input's audio tracks into the output")
        self.subs_box = QCheckBox("Keep subtitles", self)
        self.subs_box.setToolTip("Copy the input's subtitle tracks into the output")
        self.deinterlace_combo = QComboBox(self)
        for mode in DEINTERLACE_MODES:
            self.deinterlace_combo.addItem(DEINTERLACE_LABELS[mode], mode)
        self.deinterlace_combo.setToolTip(
            "Interlaced input (DVD, broadcast, camcorder, VHS). Auto detects it and deinterlaces it (bwdif, same "
            "frame rate), turns telecined film back into 24 fps, and leaves progressive input untouched; "
            "the log says what was done. Always: deinterlace every input (for sources detection misses)"
        )
        self.overwrite_box = QCheckBox("Overwrite existing output", self)
        self.overwrite_box.setToolTip("Replace an output file that already exists (otherwise the job stops)")

        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.folder_browse)
        out_box = QGroupBox("Output", self)
        out_form = QFormLayout(out_box)
        out_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        out_form.addRow("Folder", folder_row)
        out_form.addRow("Codec", self.codec_combo)
        out_form.addRow("CRF", self.crf_spin)
        out_form.addRow("Speed", self.preset_combo)
        out_form.addRow("Deinterlace", self.deinterlace_combo)
        out_form.addRow(self.audio_box)
        out_form.addRow(self.subs_box)
        out_form.addRow(self.overwrite_box)

        # ----- buttons -----
        self.save_defaults_button = QPushButton("Save as defaults", self)
        self.save_defaults_button.setToolTip("Use these settings for jobs added from now on")
        self.reset_button = QPushButton("Reset to defaults", self)
        self.reset_button.setToolTip("Give the selected jobs the default settings")
        self.defaults_button = QPushButton("Edit defaults", self)
        self.defaults_button.setToolTip("Stop editing the selected jobs and show the defaults for new jobs")
        self.apply_button = QPushButton("Apply to waiting jobs", self)
        self.apply_button.setToolTip("Give every job that has not run yet these default settings")
        buttons = QGridLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.save_defaults_button, 0, 0)
        buttons.addWidget(self.reset_button, 0, 1)
        buttons.addWidget(self.defaults_button, 1, 0, 1, 2)
        buttons.addWidget(self.apply_button, 2, 0, 1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(model_box)
        layout.addWidget(out_box)
        layout.addLayout(buttons)
        layout.addStretch(1)

        for spin in (self.tile_spin, self.chunk_spin, self.crf_spin):
            spin.setAcceptDrops(False)
        self.model_combo.currentIndexChanged.connect(self._on_model_index)
        self.model_browse.clicked.connect(self.browse_model)
        self.folder_browse.clicked.connect(self._browse_folder)
        self.codec_combo.currentIndexChanged.connect(self._on_codec)
        for signal in (
            self.device_combo.currentIndexChanged,
            self.tile_spin.valueChanged,
            self.chunk_spin.valueChanged,
            self.folder_edit.textChanged,
            self.crf_spin.valueChanged,
            self.preset_combo.currentIndexChanged,
            self.deinterlace_combo.currentIndexChanged,
            self.audio_box.toggled,
            self.subs_box.toggled,
            self.overwrite_box.toggled,
        ):
            signal.connect(self._changed)
        self.save_defaults_button.clicked.connect(self.saveAsDefaults)
        self.reset_button.clicked.connect(self.resetToDefaults)
        self.apply_button.clicked.connect(self.applyToWaiting)
        self.defaults_button.clicked.connect(self.editDefaults)

        self.set_devices(["cpu"])
        self.set_models(["tiny"], [])
        self.set_scope(None)
        self.set_prefs(JobPrefs())

    # ----- what exists -----
    def set_devices(self, names: list[str] | tuple[str, ...]) -> None:
        """The devices the engine found (auto is always offered first)."""
        current = self.device_combo.currentData() or "auto"
        self._loading, was = True, self._loading
        try:
            self.device_combo.clear()
            for name in ("auto", *names):
                self.device_combo.addItem(device_label(name), name)
            self._select(self.device_combo, current)
        finally:
            self._loading = was

    def set_models(self, named: list[str] | tuple[str, ...], files: list[str] | tuple[str, ...]) -> None:
        """Named models with weights here (tiny is always offered: a missing one is flagged, with what to do)."""
        self._have_weights = set(named)
        self._named = ["tiny", *[n for n in named if n != "tiny"]]
        self._files = list(dict.fromkeys(files))
        self._rebuild_models(self.model_combo.currentData() or "tiny")
        self._update_model_warning()

    def missing_weights(self, model: str) -> bool:
        """A named model whose weights are not installed (jobs with it would fail)."""
        return model in NAMED_MODELS and model not in self._have_weights

    def _update_model_warning(self) -> None:
        model = self.model_combo.currentData() or ""
        if not self.missing_weights(model):
            self.model_warning.hide()
            return
        if model == "tiny":
            text = (
                "The built-in model's weights (assets/models/tiny.ckpt) are not installed. "
                "Choose a model file (.ckpt or .pth) with \u201c\u2026\u201d, or Bicubic."
            )
        else:
            label = MODEL_LABELS.get(model, model)
            text = f"No weights for {label} yet: import the authors' .pth with \u201c\u2026\u201d."
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        self.model_warning.setStyleSheet(f"color: {'#e3b341' if dark else '#8a5a00'}")
        self.model_warning.setText(text)
        self.model_warning.show()

    def choose_model(self, model: str) -> None:
        """Pick a model that just became usable: a named preset with weights now, or a model file."""
        if model in NAMED_MODELS:
            self._rebuild_models(model)
            self._previous_model = model
            self._update_model_warning()
            self._changed()
        else:
            self.add_model_file(model)

    def changeEvent(self, event: QEvent) -> None:
        """A switch between light and dark: the warning's colour must read on the new palette."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._update_model_warning()

    def add_model_file(self, path: str, select: bool = True) -> None:
        """Offer an imported or chosen model file, and pick it."""
        if path not in self._files:
            self._files.append(path)
        self._rebuild_models(path if select else (self.model_combo.currentData() or "tiny"))
        if select:
            self._changed()

    def _rebuild_models(self, current: str) -> None:
        self._loading, was = True, self._loading
        try:
            combo = self.model_combo
            combo.clear()
            for name in (*self._named, "bicubic"):
                label = MODEL_LABELS.get(name, name)
                combo.addItem(label + (" (not installed)" if self.missing_weights(name) else ""), name)
            for path in self._files:
                combo.addItem(Path(path).name, path)
                combo.setItemData(combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
            if current and combo.findData(current) < 0:
                combo.addItem(Path(current).name if ("/" in current or "\\" in current) else current, current)
                combo.setItemData(combo.count() - 1, current, Qt.ItemDataRole.ToolTipRole)
            combo.insertSeparator(combo.count())
            combo.addItem("Other model file…", BROWSE_MODEL)
            self._select(combo, current)
        finally:
            self._loading = was

    # ----- scope -----
    def set_scope(self, job_names: list[str] | None, editable: bool = True) -> None:
        """None: the form edits the defaults for new jobs; else the named selected jobs."""
        if job_names is None:
            self.title.setText("Defaults for new jobs")
        elif len(job_names) == 1:
            self.title.setText(f"Job: {job_names[0]}")
        else:
            self.title.setText(f"{len(job_names)} selected jobs")
        if not editable:
            self.title.setText(self.title.text() + " (has run: read only)")
        self.save_defaults_button.setVisible(job_names is not None)
        self.reset_button.setVisible(job_names is not None)
        self.defaults_button.setVisible(job_names is not None)
        self.apply_button.setVisible(job_names is None)
        for w in self._fields():
            w.setEnabled(editable)
        self.reset_button.setEnabled(editable)
        if editable:
            self._on_codec_enable()

    def _fields(self) -> list[QWidget]:
        return [
            self.model_combo,
            self.model_browse,
            self.device_combo,
            self.tile_spin,
            self.chunk_spin,
            self.folder_edit,
            self.folder_browse,
            self.codec_combo,
            self.crf_spin,
            self.preset_combo,
            self.deinterlace_combo,
            self.audio_box,
            self.subs_box,
            self.overwrite_box,
        ]

    # ----- values -----
    def set_prefs(self, prefs: JobPrefs) -> None:
        """Show these values (does not emit ``edited``)."""
        self._loading, was = True, self._loading
        try:
            if self.model_combo.findData(prefs.model) < 0:
                self._rebuild_models(prefs.model)
            self._select(self.model_combo, prefs.model)
            self._previous_model = prefs.model
            if self.device_combo.findData(prefs.device) < 0:
                self.device_combo.addItem(device_label(prefs.device) + " (not found here)", prefs.device)
            self._select(self.device_combo, prefs.device)
            self.tile_spin.setValue(prefs.tile or 0)
            self.chunk_spin.setValue(prefs.chunk or 0)
            self.folder_edit.setText(prefs.output_folder)
            self._select(self.codec_combo, prefs.codec)
            self.crf_spin.setValue(prefs.crf)
            self.preset_combo.setCurrentText(prefs.preset)
            self._select(self.deinterlace_combo, prefs.deinterlace)
            self.audio_box.setChecked(prefs.keep_audio)
            self.subs_box.setChecked(prefs.keep_subtitles)
            self.overwrite_box.setChecked(prefs.overwrite)
            self._on_codec_enable()
            self._update_model_warning()
        finally:
            self._loading = was

    def prefs(self) -> JobPrefs:
        """The values on screen."""
        model = self.model_combo.currentData()
        return JobPrefs(
            model=model if model and model != BROWSE_MODEL else "tiny",
            device=self.device_combo.currentData() or "auto",
            tile=self.tile_spin.value() or None,
            chunk=self.chunk_spin.value() or None,
            codec=self.codec_combo.currentData() or "h264",
            crf=self.crf_spin.value(),
            preset=self.preset_combo.currentText(),
            keep_audio=self.audio_box.isChecked(),
            keep_subtitles=self.subs_box.isChecked(),
            overwrite=self.overwrite_box.isChecked(),
            output_folder=self.folder_edit.text().strip(),
            deinterlace=self.deinterlace_combo.currentData() or "auto",
        )

    # ----- internal -----
    @staticmethod
    def _select(combo: QComboBox, data: str) -> None:
        i = combo.findData(data)
        combo.setCurrentIndex(i if i >= 0 else 0)

    def _changed(self, *_args: object) -> None:
        if not self._loading:
            self.edited.emit()

    def _on_model_index(self, _index: int) -> None:
        if self._loading:
            return
        if self.model_combo.currentData() == BROWSE_MODEL:
            self.browse_model()
            return
        self._previous_model = self.model_combo.currentData()
        self._update_model_warning()
        self._changed()

    def browse_model(self) -> None:
        """Pick a .ckpt (used as is) or .pth (imported by the engine into the user model folder)."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a model file", self.last_model_dir, "Models (*.ckpt *.pth);;All files (*)"
        )
        # Put the combo back on a real model (it may sit on "Other model file…").
        self._loading, was = True, self._loading
        try:
            self._select(self.model_combo, self._previous_model)
        finally:
            self._loading = was
        if path:
            self.last_model_dir = str(Path(path).parent)
            self.modelFileChosen.emit(path)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _on_codec(self, _index: int) -> None:
        self._on_codec_enable()
        self._changed()

    def _on_codec_enable(self) -> None:
        lossy = self.codec_combo.currentData() in LOSSY_CODECS
        enabled = self.codec_combo.isEnabled()
        self.crf_spin.setEnabled(lossy and enabled)
        self.preset_combo.setEnabled(lossy and enabled)
        has_container = self.codec_combo.currentData() != "png"
        self.audio_box.setEnabled(has_container and enabled)
        self.subs_box.setEnabled(has_container and enabled)
