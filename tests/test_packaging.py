"""Desktop integration files: the .desktop entry, AppStream metainfo and hicolor icons agree with each other."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / "vrt-upscaler.desktop"
METAINFO = PACKAGING / "io.github.vrtupscaler.VRTUpscaler.metainfo.xml"
ICONS = PACKAGING / "icons" / "hicolor"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in desktop files
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_desktop_entry_key_fields() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "VRT Upscaler"
    assert entry["Exec"] == "vrt-upscaler %F"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].split(";")[:2] == ["AudioVideo", "Video"]
    mimes = entry["MimeType"].rstrip(";").split(";")
    assert {"video/mp4", "video/x-matroska", "video/webm", "video/quicktime"} <= set(mimes)
    assert all(m.startswith("video/") for m in mimes)


def test_icons_exist_in_every_size() -> None:
    name = desktop_entry()["Icon"]
    for size in SIZES:
        png = ICONS / f"{size}x{size}" / "apps" / f"{name}.png"
        assert png.is_file(), f"{png} missing: run packaging/render_icons.py"
        assert png_size(png) == (size, size)
    scalable = ICONS / "scalable" / "apps" / f"{name}.svg"
    assert scalable.read_bytes() == (ROOT / "assets" / "icons" / f"{name}.svg").read_bytes(), (
        "the app icon SVG changed: run packaging/render_icons.py")


def test_metainfo_key_fields() -> None:
    root = metainfo()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == METAINFO.name.removesuffix(".metainfo.xml")
    assert root.findtext("project_license") == "Apache-2.0"
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert root.findtext("icon[@type='stock']") == desktop_entry()["Icon"]
    assert root.find("content_rating").get("type").startswith("oars-")
    assert "non-commercial" in "".join(root.find("description").itertext())  # the model weights note
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version in [r.get("version") for r in root.iter("release")]


def test_metainfo_screenshots_are_the_documented_ones() -> None:
    images = [e.text for e in metainfo().iter("image")]
    assert images and all(url.startswith("https://") and "/docs/screenshots/" in url for url in images)
    maker = (ROOT / "docs" / "screenshots" / "make_screenshots.py").read_text()
    for url in images:
        name = url.rsplit("/", 1)[1]
        assert (ROOT / "docs" / "screenshots" / name).is_file() or f'"{name}"' in maker, name


@pytest.mark.parametrize(
    ("tool", "args", "target"),
    [
        ("desktop-file-validate", [], DESKTOP),
        ("appstreamcli", ["validate", "--no-net"], METAINFO),
    ],
)
def test_official_validators(tool: str, args: list[str], target: Path) -> None:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (Debian: desktop-file-utils, appstream)")
    result = subprocess.run([exe, *args, str(target)], capture_output=True, text=True)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    if tool == "desktop-file-validate":
        assert report.strip() == "", report  # it prints warnings and hints even when it succeeds
    else:
        assert "warnings:" not in report and "errors:" not in report, report


RTHOOK = PACKAGING / "rthook_mindspore.py"


def run_with_rthook(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that runs the bundle's runtime hook first, as the frozen executables do."""
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("VRT_STDERR_LOG", "MS_JIT_MODULES", "MS_OM_PATH")}
    env.update(VRT_LOG_DIR=str(tmp_path / "logs"), PYTHONPATH=str(ROOT))
    script = f"import runpy; runpy.run_path({str(RTHOOK)!r})\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)


def test_rthook_sends_native_stderr_to_a_log_and_keeps_python_lines_on_the_terminal(tmp_path: Path) -> None:
    code = ("import os, sys\nos.write(2, b'[ERROR] ANALYZER native dump\\n')\n"
            "print('vrt-upscale: warning: one line', file=sys.stderr)\nprint(os.environ['VRT_STDERR_LOG'])")
    result = run_with_rthook(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "vrt-upscale: warning: one line\n"
    log = Path(result.stdout.strip())
    assert log.parent == tmp_path / "logs" and "[ERROR] ANALYZER native dump" in log.read_text()


def test_rthook_makes_mindspore_compile_vrt_engine_beside_the_standard_library(tmp_path: Path) -> None:
    # Frozen, the standard library's folder is _internal/, where vrt_engine lives too: the same layout as
    # pointing MindSpore's checker at the project root. Without the hook MindSpore calls vrt_engine third-party.
    code = ("import vrt_engine.model.vrt as vrt\n"
            "from mindspore.graph._parse.jit_fallback_modules.check_utils import third_party_checker as c\n"
            f"c.python_builtin_dir = {str(ROOT)!r}\n"
            "print(c.is_third_party_module(vrt))")
    result = run_with_rthook(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
