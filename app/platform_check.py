"""Check, before QApplication exists, that Qt's platform plugin can load.

Qt aborts the process (qFatal, a wall of text) when the plugin fails; a fresh
desktop-less Linux lacks a few xcb libraries, so we name them and their packages
in one line instead.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package)
_PACKAGES = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
# loaded with dlopen at run time, so ldd does not list it
_DLOPENED = {"xcb": ["libxcb-cursor.so.0"]}


def _requested_platforms(argv: list[str]) -> list[str]:
    """Platform names Qt will try, from -platform, QT_QPA_PLATFORM, or the Linux default."""
    text = ""
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-platform", "--platform"):
            text = argv[i + 1]
    # unset: Qt 6 tries wayland first in a Wayland session, then xcb
    wayland = os.environ.get("XDG_SESSION_TYPE") == "wayland" or os.environ.get("WAYLAND_DISPLAY")
    text = text or os.environ.get("QT_QPA_PLATFORM", "") or ("wayland;xcb" if wayland else "xcb")
    return [part.split(":", 1)[0].strip() for part in text.split(";") if part.strip()]


def _plugin_dirs() -> list[Path]:
    from PySide6.QtCore import QLibraryInfo

    dirs = [Path(d) for d in os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if d]
    extra = [Path(d) / "platforms" for d in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if d]
    return dirs + extra + [Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"]


def _missing_libraries(plugin: Path, name: str) -> list[str]:
    """Shared libraries the plugin needs that the dynamic loader cannot find."""
    missing: list[str] = []
    ldd = shutil.which("ldd")
    if ldd:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if "not found" in line:
                lib = line.split("=>")[0].strip()
                if lib not in missing:
                    missing.append(lib)
    for lib in _DLOPENED.get(name, []):
        try:
            ctypes.CDLL(lib)
        except OSError:
            if lib not in missing:
                missing.append(lib)
    return missing


def _problem(name: str, argv: list[str]) -> str | None:
    dirs = _plugin_dirs()
    plugin = next((d / f"libq{name}.so" for d in dirs if (d / f"libq{name}.so").is_file()), None)
    if plugin is None:
        found = sorted({p.name[4:-3] for d in dirs if d.is_dir() for p in d.glob("libq*.so")})
        return (f"the Qt platform plugin '{name}' (QT_QPA_PLATFORM) does not exist; "
                f"available: {', '.join(found) or 'none'}")
    missing = _missing_libraries(plugin, name)
    if missing:
        debian = [_PACKAGES.get(lib, (lib, lib))[0] for lib in missing]
        fedora = [_PACKAGES.get(lib, (lib, lib))[1] for lib in missing]
        return (f"the Qt platform plugin '{name}' cannot load: missing system libraries {', '.join(missing)}; "
                f"install them with 'sudo apt install {' '.join(dict.fromkeys(debian))}' (Debian/Ubuntu) "
                f"or 'sudo dnf install {' '.join(dict.fromkeys(fedora))}' (Fedora)")
    if name == "xcb" and not os.environ.get("DISPLAY") and "-display" not in argv:
        return ("no X display for the Qt platform plugin 'xcb': DISPLAY is not set "
                "(start it from a desktop session, under xvfb-run, or set QT_QPA_PLATFORM=offscreen)")
    if name == "wayland" and not os.environ.get("WAYLAND_DISPLAY"):
        return "no Wayland display for the Qt platform plugin 'wayland': WAYLAND_DISPLAY is not set"
    return None


def platform_problem(argv: list[str]) -> str | None:
    """One line saying why no requested platform plugin can start, or None when one can (or not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    problems = []
    for name in _requested_platforms(argv):
        problem = _problem(name, argv)
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems) or None
