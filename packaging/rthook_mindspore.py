"""PyInstaller runtime hook of both executables: make MindSpore compile our graphs and keep its logs off the terminal.

Why, in a frozen app:
- MindSpore's graph compiler treats every module under the folder of the standard library
  (``os.__file__``'s folder) as a third-party library and runs its functions as opaque Python
  (JIT fallback) instead of compiling them. Frozen, ``os`` lives in ``_internal/`` beside ``vrt_engine``, so
  all our model code was "third party": shapes became run-time objects and compilation failed
  ("TupleGetItem evaluator index ...", "Type Join Failed ..."). ``MS_JIT_MODULES`` names the modules to compile.
- MindSpore's C++ logger copies errors to stderr whatever GLOG_stderrthreshold says, so file descriptor 2 goes
  to a log file (one per run, the last few kept) while Python's ``sys.stderr`` stays on the terminal: our
  one-line messages reach the user, MindSpore's dumps (and ``analyze_fail.ir``, via MS_OM_PATH) the log folder.
"""

import os
import sys
import time
from pathlib import Path

KEEP_LOGS = 10


def _log_dir() -> Path:
    """$VRT_LOG_DIR, else $XDG_STATE_HOME/vrt-upscaler/logs (~/.local/state/vrt-upscaler/logs)."""
    override = os.environ.get("VRT_LOG_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vrt-upscaler" / "logs"


def _compile_our_modules() -> None:
    names = [m for m in os.environ.get("MS_JIT_MODULES", "").split(",") if m]
    if "vrt_engine" not in names:
        os.environ["MS_JIT_MODULES"] = ",".join([*names, "vrt_engine"])


def _stderr_to_log() -> None:
    """Point fd 2 at a new log file; Python's sys.stderr keeps the terminal. Once per run (workers inherit it)."""
    if os.environ.get("VRT_STDERR_LOG") or os.environ.get("VRT_LOG_TO_TERMINAL") == "1":
        return
    try:
        folder = _log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(sys.executable).name
        old = sorted(folder.glob(f"{name}-*.log"), key=lambda p: p.stat().st_mtime)
        for stale in old[: max(0, len(old) - KEEP_LOGS + 1)]:
            stale.unlink(missing_ok=True)
        log = folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return  # no writable log folder: MindSpore's text stays on the terminal, nothing else changes
    terminal = os.dup(2)
    os.dup2(fd, 2)
    os.close(fd)
    if sys.stderr is not None:
        sys.stderr.flush()
        sys.stderr = open(terminal, "w", encoding=sys.stderr.encoding, errors="backslashreplace",  # noqa: SIM115
                          buffering=1, closefd=True)
    os.environ["VRT_STDERR_LOG"] = str(log)
    os.environ.setdefault("MS_OM_PATH", str(folder))  # analyze_fail.ir under the log folder, not the current one


_compile_our_modules()
_stderr_to_log()
