"""The graph cache's preferences: where compiled models are kept, and whether they are.

The same choice as vrt-upscale's --cache-dir and --no-cache; the app's previews and jobs use it from
the next model they load (MindSpore reads its cache when a process first compiles).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class CacheDialog(QDialog):
    """Edits (folder, enabled); ``default_folder`` is shown where the folder is left empty."""

    def __init__(self, folder: str, enabled: bool, default_folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Graph cache")
        self.enabled_box = QCheckBox("Keep compiled models between starts (seconds instead of minutes to start)", self)
        self.enabled_box.setChecked(enabled)
        self.folder_edit = QLineEdit(folder, self)
        self.folder_edit.setPlaceholderText(default_folder)
        self.folder_edit.setToolTip("Where compiled models, timings and estimated plans are kept; empty: the default")
        browse = QToolButton(self)
        browse.setText("…")
        browse.setToolTip("Choose the cache folder")
        browse.clicked.connect(self._browse)
        self.clear_button = QPushButton("Clear cache", self)
        self.clear_button.setToolTip("Remove every compiled model, timing and estimated plan in this folder")
        self.clear_button.clicked.connect(self._clear)
        self.size_label = QLabel(self)
        self.size_label.setWordWrap(True)
        self._default = default_folder

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow(self.enabled_box)
        form.addRow("Folder", row)
        form.addRow(self.size_label, self.clear_button)
        note = QLabel("Changes apply from the next model the app loads.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.folder_edit.textChanged.connect(self._show_size)
        self._show_size()

    def values(self) -> tuple[str, bool]:
        """(folder, or "" for the default; enabled)."""
        return self.folder_edit.text().strip(), self.enabled_box.isChecked()

    def _folder(self) -> Path:
        return Path(self.folder_edit.text().strip() or self._default).expanduser()

    def _show_size(self) -> None:
        from vrt_engine import graph_cache

        self.size_label.setText(f"{graph_cache.size_bytes(self._folder()) / 2**20:.0f} MB of compiled models")

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Cache folder", str(self._folder()))
        if chosen:
            self.folder_edit.setText(chosen)

    def _clear(self) -> None:
        from vrt_engine import graph_cache

        graph_cache.clear(self._folder())
        self._show_size()
