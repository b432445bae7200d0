"""Test clips: make_test_clip (testsrc2 video, sine audio, SubRip cues) for tests, benches and the
screenshot script, and helpers that inspect what ffmpeg stored. It lives with the tests because
neither the app nor the CLI needs it."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from vrt_engine import video
from vrt_engine.video import ColorTags, FrameWriter, VideoError, ffmpeg_exe, read_frames

_ALPHA = re.compile(r"^(yuva|gbrap|ya\d|rgba|bgra|argb|abgr|ayuv|vuya)")
_CLIP_ENCODERS = {"h264": "libx264", "h265": "libx265", "ffv1": "ffv1", "vp9": "libvpx-vp9"}


def make_test_clip(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    frames: int,
    fps: Fraction = Fraction(25),
    audio: bool | int = True,
    subtitles: bool | int = False,
    *,
    codec: str | None = None,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    sar: Fraction | None = None,
    chapters: bool = False,
    audio_offset: float = 0.0,
    vfr: bool = False,
    faststart: bool = False,
    color: ColorTags | None = None,
    languages: Sequence[str] = ("eng", "fra", "deu"),
    sample_rate: int = 48000,
    audio_codec: str | None = None,
    pts: str | None = None,
    seconds: float | None = None,
) -> Path:
    """Build a small synthetic clip (testsrc2 video, sine audio, SubRip cues) for tests and benches.

    ``path`` without a suffix (or ``codec="png"``) makes a folder of 00000000.png... frames.
    Odd sizes are cut from the next even testsrc2 size in RGB. ``rotation`` is clockwise degrees,
    ``audio_offset`` delays the audio (negative: delays the video), ``vfr`` makes a timestamp jump
    of half a second after frame 10, ``frames=0`` keeps an empty video track beside the audio.
    ``pts`` times frame N by an ffmpeg expression of N in seconds (e.g. a 30 fps part, then 12 fps),
    stored in a 1/90000 time base (mp4, mov; Matroska rounds to 1 ms), each frame a different hue;
    ``seconds`` is then the audio's length. Returns ``path``.
    """
    p = Path(path)
    fps = Fraction(fps)
    rate = f"{fps.numerator}/{fps.denominator}"
    w2, h2 = width + width % 2, height + height % 2
    vf = [f"testsrc2=size={w2}x{h2}:rate={rate}"]
    if (w2, h2) != (width, height):
        vf += ["format=rgb24", f"crop={width}:{height}:0:0"]
    if vfr:
        vf.append(f"setpts='N/({rate})/TB+gte(N\\,10)*0.5/TB'")
    if pts is not None:  # a hue turning by 0.9 rad a frame tells each frame from its neighbours
        vf += ["hue=H=n*0.9", "settb=1/90000", f"setpts='({pts})/TB'"]
    if sar is not None:
        vf.append(f"setsar={Fraction(sar).numerator}/{Fraction(sar).denominator}")
    vf.append(f"format={pix_fmt}")
    if codec == "png" or not p.suffix:
        p.mkdir(parents=True, exist_ok=True)
        _run_ok(p, [*_base(), "-y", "-f", "lavfi", "-i", ",".join(vf), "-frames:v", str(frames),
                    "-start_number", "0", _abs(p).replace("%", "%%") + "/%08d.png"])
        return p
    suffix = p.suffix.lower()
    if codec is None:
        rgb = _ALPHA.match(pix_fmt) is not None or pix_fmt.startswith(("rgb", "bgr", "gbr"))
        codec = "vp9" if suffix == ".webm" else ("ffv1" if rgb else "h264")
    enc = _CLIP_ENCODERS.get(codec, codec)
    n_audio, n_subs = int(audio), int(subtitles)
    seconds = Fraction(seconds) if seconds is not None else max(frames, 1) / fps
    with tempfile.TemporaryDirectory(prefix="vrt-clip-") as tmp:
        cmd = [*_base(), "-y"]
        if audio_offset < 0:
            cmd += ["-itsoffset", f"{-audio_offset:.6f}"]
        if rotation:
            cmd += ["-display_rotation", str((-rotation) % 360), "-noautorotate"]
        cmd += ["-f", "lavfi", "-i", ",".join(vf)]
        for k in range(n_audio):
            if audio_offset > 0:
                cmd += ["-itsoffset", f"{audio_offset:.6f}"]
            sine = f"sine=frequency={440 * (k + 1)}:sample_rate={sample_rate}:duration={float(seconds):.6f}"
            cmd += ["-f", "lavfi", "-i", sine]
        for k in range(n_subs):
            srt = Path(tmp) / f"s{k}.srt"
            srt.write_text(_srt_cues(float(seconds), k))
            cmd += ["-i", _abs(srt)]
        if chapters:
            meta = Path(tmp) / "chapters.txt"
            half = int(float(seconds) * 500)
            meta.write_text(f";FFMETADATA1\ntitle=test clip\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND={half}\n"
                            f"title=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART={half}\nEND={half * 2}\ntitle=Two\n")
            cmd += ["-i", _abs(meta)]
        cmd += ["-map", "0:v", "-frames:v", str(max(frames, 1))]
        for k in range(n_audio):
            cmd += ["-map", f"{1 + k}:a", f"-metadata:s:a:{k}", f"language={languages[k % len(languages)]}"]
        for k in range(n_subs):
            lang = languages[(k + 1) % len(languages)]
            cmd += ["-map", f"{1 + n_audio + k}:s", f"-metadata:s:s:{k}", f"language={lang}"]
        if chapters:
            cmd += ["-map_metadata", str(1 + n_audio + n_subs), "-map_chapters", str(1 + n_audio + n_subs)]
        cmd += ["-c:v", enc, "-pix_fmt", pix_fmt, "-threads", "1"]
        if enc == "libx265":
            cmd += ["-x265-params", "log-level=error"]
        if enc == "libvpx-vp9":
            cmd += ["-deadline", "realtime", "-cpu-used", "8"]
        if n_audio:
            cmd += ["-c:a", audio_codec or ("libopus" if suffix == ".webm" else "aac")]
        if n_subs:
            text_codec = {".mp4": "mov_text", ".m4v": "mov_text", ".mov": "mov_text", ".webm": "webvtt"}
            cmd += ["-c:s", text_codec.get(suffix, "srt")]
        if vfr or pts is not None:
            cmd += ["-fps_mode", "passthrough"]
        if pts is not None:
            cmd += ["-enc_time_base:v", "1/90000"]
        if pts is not None and suffix in (".mp4", ".mov", ".m4v"):
            cmd += ["-video_track_timescale", "90000"]
        if faststart and suffix in (".mp4", ".mov", ".m4v"):
            cmd += ["-movflags", "+faststart"]
        if color is not None:
            cmd += ["-colorspace", color.matrix, "-color_range", color.range]
            cmd += ["-color_primaries", color.primaries or "bt709", "-color_trc", color.transfer or "bt709"]
        target = p if frames > 0 else Path(tmp) / f"one{p.suffix}"
        _run_ok(p, [*cmd, "-fflags", "+bitexact", _abs(target)])
        if frames == 0:  # keep the (now empty) video track: drop every video packet
            _run_ok(p, [*_base(), "-y", "-i", _abs(target), "-map", "0", "-c", "copy",
                        "-bsf:v", "noise=drop=1", _abs(p)])
    return p


def _srt_cues(seconds: float, k: int) -> str:
    def ts(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    cues, n, t = [], 1, 0.0
    step = max(seconds / 3, 0.2)
    while t + 0.1 < seconds and n <= 50:
        cues.append(f"{n}\n{ts(t)} --> {ts(min(t + step * 0.8, seconds))}\nCue {n} track {k}\n")
        n += 1
        t += step
    return "\n".join(cues) + "\n"


def _base() -> list[str]:
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"]


def _abs(path: str | os.PathLike[str]) -> str:
    """Absolute, so a name like ``a:b.mp4`` is never read as an ffmpeg protocol."""
    return os.fspath(Path(path).absolute())


def _run_ok(p: Path, cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        lines = [x.strip() for x in proc.stderr.decode("utf-8", "replace").splitlines() if x.strip()]
        raise VideoError(p, lines[-1] if lines else f"ffmpeg exited with status {proc.returncode}")


# ----------------------------------------------------------------------------------------- inspecting

NTSC = Fraction(24000, 1001)
ROOT = Path(__file__).resolve().parents[1]


def ffmpeg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([video.ffmpeg_exe(), "-nostdin", "-v", "error", *args], capture_output=True,
                          text=True, check=False)


def packet_md5(path: Path, spec: str) -> str:
    """md5 of a stream's packets, copied (no decoding): equal only if the data is untouched."""
    r = ffmpeg("-i", str(path), "-map", spec, "-c", "copy", "-f", "md5", "-")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def stream_span(path: Path, spec: str) -> tuple[float, float]:
    """(first pts, last pts + duration) in seconds, as stored in the file."""
    r = ffmpeg("-copyts", "-i", str(path), "-map", spec, "-c", "copy", "-f", "framecrc", "-")
    assert r.returncode == 0, r.stderr
    tb = Fraction(next(x for x in r.stdout.splitlines() if x.startswith("#tb")).split(":")[1].strip())
    rows = [x.split(",") for x in r.stdout.splitlines() if not x.startswith("#")]
    pts = [int(c[2]) for c in rows]
    last = max(range(len(rows)), key=lambda i: pts[i])
    return float(min(pts) * tb), float((pts[last] + int(rows[last][3])) * tb)


def frame_pts(path: Path, spec: str = "0:v:0") -> np.ndarray:
    """Every frame's presentation time in seconds, as stored (packets copied, sorted)."""
    r = ffmpeg("-copyts", "-i", str(path), "-map", spec, "-c", "copy", "-f", "framecrc", "-")
    assert r.returncode == 0, r.stderr
    tb = Fraction(next(x for x in r.stdout.splitlines() if x.startswith("#tb")).split(":")[1].strip())
    ticks = sorted(int(x.split(",")[2]) for x in r.stdout.splitlines() if not x.startswith("#"))
    return np.asarray(ticks, dtype=np.float64) * float(tb)


def child_pids() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            pids |= {int(x) for x in (task / "children").read_text().split()}
    return pids


def upscale4(frame: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(frame, 4, axis=0), 4, axis=1)


def write_segments(src: video.VideoInfo, folder: Path, per_segment: int, *, suffix: str = ".mp4",
                   codec: str = "h264", sar: Fraction | None = None, scale: bool = True) -> list[Path]:
    """Run the real pipeline shape: read -> (x4 nearest) -> FrameWriter segments."""
    segs: list[Path] = []
    writer = None
    w, h = (src.width * 4, src.height * 4) if scale else (src.width, src.height)
    if sar is None:
        sar = video.output_sar(src, w, h)
    for i, frame in enumerate(read_frames(src.path, src)):
        if i % per_segment == 0:
            if writer:
                writer.close()
            segs.append(folder / f"seg{len(segs):04d}{suffix}")
            writer = FrameWriter(segs[-1], w, h, src.fps, codec=codec, color=src, sar=sar, preset="ultrafast")
        writer.write(upscale4(frame) if scale else frame)
    writer.close()
    return segs


def assert_one_line(err: VideoError, path: Path, *words: str) -> None:
    text = str(err)
    assert "\n" not in text and text.startswith(str(path)), text
    for word in words:
        assert word.lower() in text.lower(), text
