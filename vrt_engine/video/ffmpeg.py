"""ffmpeg itself: the bundled binary, the one-line error every module raises, and stderr handling."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path


class VideoError(Exception):
    """A problem with one file, told in one line that names the file: ``"a.mp4: not a video file"``."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = " ".join(str(problem).split()) or "unknown ffmpeg error"
        super().__init__(f"{os.fspath(path)}: {self.problem}")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg (the only one we rely on)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _arg(path: str | os.PathLike[str]) -> str:
    """A path as an ffmpeg argument: absolute, so a name like ``a:b.mp4`` is never read as a protocol."""
    return os.fspath(Path(path).absolute())


def _base_cmd() -> list[str]:
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"]


_ADDR = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")


def _clean(line: str) -> str:
    return _ADDR.sub("", line.strip())


def _exit_reason(rc: int | None) -> str:
    """Words for an ffmpeg exit status; a signal death says which (SIGXFSZ: file size limit)."""
    if rc is not None and rc < 0:
        with contextlib.suppress(ValueError):
            name = signal.Signals(-rc).name
            return f"ffmpeg was killed by {name}" + (" (file size limit exceeded)" if name == "SIGXFSZ" else "")
    return f"ffmpeg exited with status {rc}"


def _last_error(lines: Sequence[str], default: str = "ffmpeg failed") -> str:
    """The most telling of ffmpeg's last stderr lines (skipping its generic closing words)."""
    generic = ("conversion failed", "error closing file", "terminating thread", "task finished",
               "error opening output file", "nothing was written", "error applying encoder options",
               "error muxing a packet", "error submitting a packet", "error opening input file",
               "error opening input files", "last message repeated", "error sending frames",
               "could not write header")
    cleaned = [_clean(x) for x in lines if x.strip()]
    for line in reversed(cleaned):
        if not line.lower().startswith(generic):
            return line
    return cleaned[-1] if cleaned else default


class _StderrTail:
    """Drains a process's stderr in a thread (so it can never block ffmpeg) and keeps the tail."""

    def __init__(self, stream, keep: int = 40) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        with contextlib.suppress(ValueError, OSError):
            for raw in iter(stream.readline, b""):
                text = raw.decode("utf-8", "replace").strip()
                if text:
                    self.lines.append(text)

    def join(self) -> list[str]:
        self._thread.join(timeout=5)
        return list(self.lines)


def _stop(proc: subprocess.Popen, tail: _StderrTail | None = None) -> list[str]:
    """Kill (if still running) and reap ``proc`` so no zombie ffmpeg is left; return stderr's tail."""
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    lines = tail.join() if tail is not None else []
    if proc.stderr is not None:
        with contextlib.suppress(OSError):
            proc.stderr.close()
    return lines
