"""Make assets/sample/sample.mp4, the clip the README Quickstart upscales.

Why generated and not filmed: the project ships only what it can rebuild and license itself. The
pictures are photographs that scikit-image ships (public domain / CC0, see skimage.data), moved by a
smooth synthetic camera (pan and zoom with cv2.warpAffine on the full-size photo, then an area
downscale, so it looks like real low-resolution footage rather than a resized still), with a soft
synthesized chord as the sound track. It is small on purpose: the built-in tiny model must get
through it on a 2-core CPU in the Quickstart.

Deterministic: the same script and ffmpeg (imageio-ffmpeg's) give a byte-identical file.

    .venv/bin/python assets/sample/make_sample.py [--out assets/sample/sample.mp4]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from vrt_engine.video import FrameWriter, ffmpeg_exe

WIDTH, HEIGHT = 256, 144           # 16:9, x4 gives 1024x576
FPS = Fraction(24)
SHOT_FRAMES = 32                   # two shots, 64 frames = 2.667 s
SAMPLE_RATE = 48000                # 64 frames / 24 fps * 48000 = 128000 samples = 125 AAC frames exactly
SUPERSAMPLE = 2                    # render at 2x the output size, then area-downscale
OUT = Path(__file__).resolve().parent / "sample.mp4"


@dataclass(frozen=True)
class Shot:
    """One camera move over a photo: a 16:9 window eased from ``start`` to ``end`` (centre x, centre y, width)."""

    photo: str
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    # Frequencies (Hz) of the chord heard during this shot.
    chord: tuple[float, ...]


SHOTS = (
    # rocket (640x427): slow pan left to right across the launch pad with a slight zoom in.
    Shot("rocket", (250.0, 220.0, 480.0), (390.0, 205.0, 420.0), (261.63, 329.63, 392.00, 493.88)),  # Cmaj7
    # coffee (600x400): gentle push in on the cup.
    Shot("coffee", (300.0, 200.0, 560.0), (330.0, 190.0, 430.0), (220.00, 261.63, 329.63, 392.00)),  # Am7
)


def ease(t: float) -> float:
    """Smoothstep: the camera starts and stops without a jolt."""
    return t * t * (3.0 - 2.0 * t)


def camera_frames(shot: Shot, frames: int) -> Iterator[np.ndarray]:
    """RGB uint8 frames of ``shot``: each a warp of the full photo, then an antialiased downscale."""
    photo = getattr(data, shot.photo)()[..., :3]
    big_w, big_h = WIDTH * SUPERSAMPLE, HEIGHT * SUPERSAMPLE
    for i in range(frames):
        t = ease(i / (frames - 1))
        cx, cy, win_w = (a + (b - a) * t for a, b in zip(shot.start, shot.end))
        scale = big_w / win_w  # source pixels -> render pixels
        # Affine map from photo coordinates to the render canvas: window centre lands on canvas centre.
        m = np.array([[scale, 0.0, big_w / 2 - scale * cx], [0.0, scale, big_h / 2 - scale * cy]])
        canvas = cv2.warpAffine(photo, m, (big_w, big_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        yield cv2.resize(canvas, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def chord_audio(shots: tuple[Shot, ...], samples_per_shot: int) -> np.ndarray:
    """Stereo float audio: each shot's chord as soft, slightly detuned tones with smooth envelopes."""
    t = np.arange(samples_per_shot) / SAMPLE_RATE
    fade = int(0.08 * SAMPLE_RATE)
    env = np.ones(samples_per_shot)
    env[:fade] = np.sin(np.linspace(0.0, np.pi / 2, fade)) ** 2
    env[-fade:] = env[:fade][::-1]
    env *= np.exp(-0.35 * t)  # a slow decay, like a held pad
    parts = []
    for shot in shots:
        left = np.zeros(samples_per_shot)
        right = np.zeros(samples_per_shot)
        for k, f in enumerate(shot.chord):
            # Fundamental plus a quiet octave; left and right detuned a little for width.
            tone_l = np.sin(2 * np.pi * f * 0.999 * t) + 0.25 * np.sin(2 * np.pi * 2 * f * t)
            tone_r = np.sin(2 * np.pi * f * 1.001 * t + 0.5 * k) + 0.25 * np.sin(2 * np.pi * 2 * f * t + k)
            pan = 0.35 + 0.3 * k / max(1, len(shot.chord) - 1)
            left += (1.0 - pan) * tone_l
            right += pan * tone_r
        parts.append(np.stack([left, right], axis=1) * env[:, None])
    audio = np.concatenate(parts)
    return 0.5 * audio / np.abs(audio).max()  # about -6 dBFS peak


def write_wav(path: Path, audio: np.ndarray) -> None:
    """16-bit PCM WAV (the standard library writes it; no extra dependency)."""
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


def make_sample(out: Path) -> Path:
    """Render the video with the engine's own deterministic writer, then add AAC audio by stream copy."""
    samples_per_shot = SHOT_FRAMES * SAMPLE_RATE // FPS
    assert samples_per_shot == SHOT_FRAMES * SAMPLE_RATE / FPS, "audio must end exactly with the video"
    with tempfile.TemporaryDirectory(prefix="vrt-sample-") as tmp:
        video_only = Path(tmp) / "video.mp4"
        wav = Path(tmp) / "audio.wav"
        with FrameWriter(video_only, WIDTH, HEIGHT, FPS, codec="h264", crf=20, preset="slow") as writer:
            for shot in SHOTS:
                for frame in camera_frames(shot, SHOT_FRAMES):
                    writer.write(frame)
        write_wav(wav, chord_audio(SHOTS, int(samples_per_shot)))
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-i", str(video_only), "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0",
               "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-ac", "2",
               "-metadata:s:a:0", "language=und", "-map_metadata", "-1",
               "-fflags", "+bitexact", "-flags:a", "+bitexact", "-movflags", "+faststart", str(out)]
        subprocess.run(cmd, check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the clip (default {OUT})")
    args = parser.parse_args(argv)
    path = make_sample(args.out)
    print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
