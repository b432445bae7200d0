"""Build the desktop bundle and check it on this machine: the app opens a real window, vrt-upscale compiles.

Slow (a bundle build and two model runs), so not part of CI. Prints each check and exits non-zero when one fails.

    .venv/bin/python bench/bundle_check.py            # builds dist/vrt-upscaler first (as `make bundle`)
    .venv/bin/python bench/bundle_check.py --no-build # checks the bundle already in dist/

Needs the system packages packaging/README.md lists (a window: xvfb, xauth, x11-utils for xwininfo).
Checks:
1. the packages are installed (dpkg), and `vrt-upscale --version` answers;
2. `vrt-upscaler` under `xvfb-run` maps a top-level window titled "VRT Upscaler", stays up, and ends on SIGTERM
   without a crash;
3. `vrt-upscale` upscales a short clip in graph mode: no eager fallback warning, no MindSpore text on the
   terminal, MindSpore's log file in the log folder (VRT_LOG_DIR), and frames equal to the ones the same
   command gives from the source tree (lossless ffv1 output, chunk and tile fixed, compared pixel by pixel).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "vrt-upscaler"
PACKAGES = ["xvfb", "xauth", "x11-utils", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0",
            "libxkbcommon-x11-0", "libegl1"]
# Lossless output, and chunk and tile fixed: automatic sizes follow the free memory, which differs run to run.
FIXED = ["--codec", "ffv1", "--chunk", "8", "--tile", "0"]
MINDSPORE_TEXT = re.compile(r"\[(ERROR|CRITICAL|WARNING)\]|ME\(\d+|ANALYZER|C\+\+ Call Stack")
# A window titled "VRT Upscaler" bigger than Qt's 1x1 group-leader window: the main window, mapped.
SHOWN = "xwininfo -root -tree | grep -E '\"VRT Upscaler\".* [0-9]{3,}x[0-9]{3,}\\+'"
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)


def build() -> None:
    """What `make bundle` does, with this tree first on the path so its own sources are bundled."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    venv = Path(sys.executable).parent
    start = time.perf_counter()
    run = subprocess.run(["nice", "-n", "10", str(venv / "pyinstaller"), "--noconfirm", "--clean", "--log-level",
                          "ERROR", "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build" / "pyinstaller"),
                          str(ROOT / "packaging" / "vrt-upscaler.spec")], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    if run.returncode != 0:  # MindSpore's import warnings make the output long: only its end on failure
        sys.exit(f"pyinstaller failed ({run.returncode}):\n{run.stderr[-3000:]}")
    subprocess.run(["nice", "-n", "10", sys.executable, "-m", "compileall", "-q", "-j", "2",
                    str(DIST / "_internal" / "mindspore"), str(DIST / "_internal" / "vrt_engine")], check=True)
    print(f"built {DIST} in {time.perf_counter() - start:.0f} s", flush=True)


def bundled_ffmpeg() -> str:
    return str(next((DIST / "_internal" / "imageio_ffmpeg" / "binaries").glob("ffmpeg*")))


def check_system() -> None:
    missing = [p for p in PACKAGES
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    note = f" (missing: {missing})" if missing else ""
    check(not missing, f"system packages installed: {' '.join(PACKAGES)}{note}")
    out = subprocess.run([str(DIST / "vrt-upscale"), "--version"], capture_output=True, text=True)
    check(out.returncode == 0, f"vrt-upscale --version: {out.stdout.strip() or out.stderr.strip()}")


def check_window(tmp: Path, seconds: float = 90.0) -> None:
    """Start the app under xvfb-run, wait for its window, keep it up a few seconds, stop it with SIGTERM."""
    script = (
        f'"{DIST / "vrt-upscaler"}" > "{tmp / "gui.out"}" 2>&1 & app=$!\n'
        f'for i in $(seq {int(seconds * 2)}); do\n'
        f'  if {SHOWN} > /dev/null; then break; fi\n'
        '  kill -0 $app 2>/dev/null || { echo "app exited before a window"; wait $app; echo "rc=$?"; exit 3; }\n'
        '  sleep 0.5\n'
        'done\n'
        f'{SHOWN} | head -1 | sed "s/^ */window: /"\n'
        f'xwd -root -silent > "{tmp / "screen.xwd"}" 2>/dev/null\n'
        'sleep 5\n'
        'kill -0 $app 2>/dev/null || { echo "app died after showing its window"; exit 4; }\n'
        'kill -TERM $app; wait $app; echo "rc=$?"\n'
    )
    env = dict(os.environ, VRT_LOG_DIR=str(tmp / "gui-logs"))
    env.pop("QT_QPA_PLATFORM", None)
    start = time.perf_counter()
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "bash", "-c", script],
                         capture_output=True, text=True, env=env, timeout=seconds + 60)
    lines = run.stdout.strip().splitlines()
    window = next((line for line in lines if line.startswith("window:")), "")
    check(bool(window), f"vrt-upscaler maps its window under xvfb-run ({window.strip() or run.stdout.strip()})"
          f" in {time.perf_counter() - start:.0f} s")
    shot = tmp / "screen.xwd"
    size = shot.stat().st_size if shot.is_file() else 0
    check(size > 1_000_000, f"screenshot of the display (xwd): {size} bytes")
    # SIGTERM ends a Qt app with 143 (no handler) or 0 (a handler); a crash would be 134 (abort) or 139 (segfault)
    rc = next((line for line in lines if line.startswith("rc=")), "rc=?")
    check(rc in ("rc=0", "rc=143"), f"vrt-upscaler stayed up 5 s after showing the window, ended by SIGTERM ({rc})")
    text = (tmp / "gui.out").read_text(errors="replace").strip() if (tmp / "gui.out").is_file() else ""
    check(not MINDSPORE_TEXT.search(text), f"app's terminal output: {text[:200]!r}")


def decoded(path: Path) -> bytes:
    """The video's frames as raw RGB bytes (256x192 for the 64x48 clip)."""
    return subprocess.run([bundled_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "rawvideo",
                           "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout


def check_cli(tmp: Path, frames: int) -> None:
    clip = tmp / "clip.mp4"
    subprocess.run([bundled_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=24",
                    "-frames:v", str(frames), "-pix_fmt", "yuv420p", str(clip)], check=True)
    logs = tmp / "cli-logs"
    env = dict(os.environ, VRT_LOG_DIR=str(logs))
    out = tmp / "bundle_x4.mkv"
    start = time.perf_counter()
    run = subprocess.run([str(DIST / "vrt-upscale"), str(clip), str(out), *FIXED],
                         capture_output=True, text=True, env=env, cwd=tmp)
    seconds = time.perf_counter() - start
    print("  stdout: " + "\n  stdout: ".join(run.stdout.strip().splitlines()[-3:]))
    check(run.returncode == 0 and out.is_file(),
          f"vrt-upscale {clip.name} ({frames} frames, 64x48): rc {run.returncode}, {seconds:.0f} s wall")
    stderr = run.stderr.strip()
    check("graph mode failed" not in stderr and "eager" not in stderr,
          "ran in graph mode (no eager fallback warning)")
    first = f", first: {stderr.splitlines()[0][:120]!r}" if stderr else ""
    check(not MINDSPORE_TEXT.search(stderr),
          f"no MindSpore text on the terminal (stderr: {len(stderr.splitlines())} lines{first})")
    files = sorted(logs.glob("vrt-upscale-*.log"))
    check(bool(files), f"MindSpore's stderr went to a log file: {files[-1] if files else 'none in ' + str(logs)}")
    check(not list(tmp.glob("rank_*")), "no MindSpore folders (rank_0/) left in the current folder")
    if run.returncode != 0 or not out.is_file():
        return
    source = tmp / "source_x4.mkv"
    venv_env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vrt_engine.cli", "upscale", str(clip), str(source), *FIXED],
                   check=True, capture_output=True, env=venv_env, cwd=tmp)
    print(f"  source tree ({sys.executable}): {time.perf_counter() - start:.0f} s wall")
    import numpy as np  # the venv's; only this comparison needs it

    ours, theirs = (np.frombuffer(decoded(p), np.uint8).astype(np.int16) for p in (out, source))
    frame_size = 256 * 192 * 3
    diff = int(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else -1
    check(ours.size == frames * frame_size and diff == 0,
          f"bundle's frames equal the source tree's graph-mode frames ({ours.size // frame_size} frames, "
          f"largest difference {diff} of 255)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-build", action="store_true", help="check the bundle already in dist/vrt-upscaler")
    p.add_argument("--frames", type=int, default=16, help="frames of the test clip")
    args = p.parse_args()
    if not args.no_build:
        build()
    if not (DIST / "vrt-upscale").is_file():
        print(f"{DIST}: no bundle (run without --no-build)", file=sys.stderr)
        return 2
    if shutil.which("xvfb-run") is None or shutil.which("xwininfo") is None:
        print("bundle_check: needs xvfb-run and xwininfo (apt-get install xvfb xauth x11-utils)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bundle_check_") as name:
        tmp = Path(name)
        check_system()
        check_window(tmp)
        check_cli(tmp, args.frames)
    print(f"{'all checks passed' if not failures else f'{len(failures)} check(s) failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
