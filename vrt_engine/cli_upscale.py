"""vrt-upscale: videos in, 4x videos out, as a queue."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .cli_common import EXIT_FAILED, add_cache_options, apply_cache_options, run_guarded
from .frame_range import with_range_suffix

VIDEO_SUFFIXES = {
    ".mp4",
    ".m4v",
    ".mkv",
    ".mov",
    ".avi",
    ".webm",
    ".mts",
    ".m2ts",
    ".ts",
    ".flv",
    ".wmv",
    ".mpg",
    ".mpeg",
}


TIMING_HELP = (
    "Frame timing: constant-rate input keeps its exact rate (24000/1001 stays 24000/1001). Variable frame "
    "rate input (phones, screen recordings, game captures, video calls) and input whose timestamps jitter "
    "keep every frame's timestamp: output frame N is shown exactly when input frame N was, so audio, "
    "subtitles and chapters stay in sync for the whole length. PNG output of such input gets "
    "timestamps.txt (mkvmerge timestamp format v2, milliseconds) in its folder."
)


def _is_frame_folder(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() == ".png" for p in path.iterdir())


def expand_inputs(paths: Sequence[str]) -> list[Path]:
    """Files as given; a folder of PNG frames is one input; another folder contributes its videos."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir() and not _is_frame_folder(path):
            videos = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            subdirs = sorted(p for p in path.iterdir() if _is_frame_folder(p))
            if not videos and not subdirs:
                raise ValueError(f"{path}: folder has no videos or PNG frame folders")
            found += videos + subdirs
        else:
            found.append(path)  # missing files are reported by the job, one line each
    return found


def _format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressPrinter:
    """A one-line progress bar on a terminal, plain lines otherwise; warnings go to stderr, one line each
    (stderr carries only warnings and errors, so a failure reads as one line there)."""

    def __init__(self, name: str, stream=None, errors=None, progress: bool = True) -> None:
        self.name = name
        self.progress = progress  # False: msrun's ranks other than 0 (rank 0 prints the whole job's)
        self.stream = stream or sys.stdout
        self.errors = errors or sys.stderr
        self.tty = self.stream.isatty()
        self._last_plain = 0.0

    def __call__(self, event) -> None:
        from .job import Failed, LogLine, Progress

        if isinstance(event, Progress) and self.progress:
            frac = event.frames_done / max(1, event.frames_total)
            text = (
                f"{self.name}: {event.frames_done}/{event.frames_total} frames  {event.fps:.2f} fps  "
                f"ETA {_format_eta(event.eta_seconds)}"
            )
            if self.tty:
                width = max(10, min(40, shutil.get_terminal_size().columns - len(text) - 4))
                filled = int(frac * width)
                self.stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {text}")
                if event.frames_done == event.frames_total:
                    self.stream.write("\n")
            elif time.monotonic() - self._last_plain > 2 or event.frames_done == event.frames_total:
                self._last_plain = time.monotonic()
                self.stream.write(text + "\n")
            self.stream.flush()
        elif isinstance(event, LogLine) and event.level == "warning":
            self.errors.write(f"vrt-upscale: warning: {event.text}\n")
        elif isinstance(event, LogLine):
            self.stream.write(f"{event.text}\n")
        elif isinstance(event, Failed):
            if self.tty:
                self.stream.write("\n")


def _settings(args: argparse.Namespace):
    from .job import JobSettings

    return JobSettings(
        model=args.model,
        device=args.device,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        chunk=args.chunk,
        chunk_overlap=args.chunk_overlap,
        codec=args.codec,
        crf=args.crf,
        preset=args.preset,
        keep_audio=not args.no_audio,
        keep_subtitles=not args.no_subtitles,
        overwrite=args.overwrite,
        graph=not args.eager,
        workers=args.workers,
        segment_frames=args.segment_frames,
        start=args.start,
        end=args.end,
        duration=args.duration,
        deinterlace=args.deinterlace,
    )


def _planned_jobs(paths: list[Path], output: Path | None, settings, out_dir: Path | None) -> list:
    """Each input's job, its range resolved and checked against the others before any runs (one line
    naming the option or the clash). An input that cannot be probed is left to its job to report."""
    from .job import default_output_path
    from .job_list import PlannedJob, merge_repeats
    from .video import VideoError, frame_times, is_timed, probe

    spec = settings.range_spec
    planned = []
    for path in paths:
        rng = None
        if spec.given:
            try:
                info = probe(path)
            except (VideoError, OSError):
                info = None
            if info is not None:
                rng = spec.resolve(info.fps, info.frame_count, path, frame_times(info) if is_timed(info) else None)
        target = output or with_range_suffix(default_output_path(path, settings, out_dir), rng)
        planned.append(PlannedJob(path, target, rng))
    jobs, notices = merge_repeats(planned)
    for notice in notices:
        print(f"vrt-upscale: warning: {notice}", file=sys.stderr)
    return jobs


def _split_output(args: argparse.Namespace) -> tuple[list[str], Path | None]:
    """INPUT [OUTPUT]: a second path that does not exist yet, with a video suffix, is the output.

    An existing second file is always taken as another input, never overwritten by position;
    replacing an existing output needs -o OUTPUT with --overwrite.
    """
    items = list(args.inputs)
    if args.output:
        if len(items) != 1:
            raise ValueError("-o/--output takes exactly one input")
        return items, Path(args.output)
    if len(items) == 2 and Path(items[0]).is_file():
        second = Path(items[1])
        if not second.exists() and (second.suffix.lower() in VIDEO_SUFFIXES or args.codec == "png"):
            return items[:1], second
    return items, None


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: cannot write PNG")
    tmp.replace(path)


def _preview(path: Path, frame: int, settings, runner):
    """preview_frame, with a model or framework failure (a RuntimeError) told as one line like bad input."""
    from .job import preview_frame
    from .video import VideoError
    from .weights import WeightsError

    try:
        return preview_frame(path, frame, settings, runner.runner_for(settings))
    except (VideoError, WeightsError, ValueError, OSError):
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise ValueError(f"{path}: preview failed: {type(exc).__name__}: {text}") from exc


def _join_ranks(args: argparse.Namespace, settings):
    """--distributed: this rank's device (one core on a CPU: one model process) and its share of the job.
    First of all, so that msrun's scheduler, which runs this same command, reaches the group."""
    from .distributed import RankShare, join

    world, settings.device = join(settings.device)
    if settings.device == "cpu":
        settings.workers = 1
    if args.preview_frame is not None or args.estimate:
        raise ValueError("--distributed: not with --preview-frame or --estimate")
    if len(args.inputs) != 1 or not args.output:
        raise ValueError("--distributed: give one INPUT and -o OUTPUT (every rank works on the same job)")
    return RankShare(world)


def _run_upscale(args: argparse.Namespace) -> int:
    from . import graph_cache
    from .job import (
        Cancelled,
        CancelToken,
        Failed,
        Finished,
        Job,
        JobRunner,
        side_by_side,
    )

    apply_cache_options(args)
    if args.clear_cache:
        freed = graph_cache.clear()
        print(f"{graph_cache.cache_root()}: removed {freed / 2**20:.0f} MB of cached graphs and timings")
        if not args.inputs:
            return 0
    if not args.inputs:
        raise ValueError("no INPUT given")
    settings = _settings(args)
    settings.validate()
    share = _join_ranks(args, settings) if args.distributed else None
    inputs, output = _split_output(args)
    paths = expand_inputs(inputs)
    out_dir = Path(args.output_dir) if args.output_dir else None
    if out_dir is not None and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: --output-dir does not exist")
    runner = JobRunner()

    if args.preview_frame is not None:
        if len(paths) != 1:
            raise ValueError("--preview-frame takes exactly one input")
        pair = _preview(paths[0], args.preview_frame, settings, runner)
        target = (
            Path(args.preview_out)
            if args.preview_out
            else (out_dir or paths[0].parent) / (f"{paths[0].stem}_frame{args.preview_frame:05d}_compare.png")
        )
        _write_png(target, side_by_side(pair))
        print(f"{target} (left: bicubic, right: {settings.model})")
        return 0

    if args.estimate:
        from .cli_estimate import print_estimates

        print_estimates(paths, settings, runner.runner_for(settings))
        return 0

    failures = 0
    token = CancelToken()
    for planned in _planned_jobs(paths, output, settings, out_dir):
        path, target = planned.input, planned.output
        job = Job(path, target, settings)
        printer = ProgressPrinter(path.name, progress=share is None or share.muxes)
        try:
            event = runner.run(job, printer, token, share=share)
        except KeyboardInterrupt:
            print(f"\n{path}: interrupted; run the same command again to resume", file=sys.stderr)
            return 130
        if isinstance(event, Finished) and share is not None and not share.muxes:
            print(f"{share.label}: {event.frames} frames in {event.seconds:.1f} s; rank 0 writes {event.output}")
        elif isinstance(event, Finished):
            print(f"{event.output} ({event.frames} frames in {event.seconds:.1f} s)")
        elif isinstance(event, Failed):
            failures += 1
            if args.debug:
                sys.stderr.write(event.detail)
            print(f"vrt-upscale: error: {event.reason}", file=sys.stderr)
        elif isinstance(event, Cancelled):
            return 130
    return EXIT_FAILED if failures else 0


FIELDS_HELP = (
    "Interlaced input (DVD, broadcast, camcorder, VHS captures) is detected from the stream's field "
    "order and, where flags lie (MPEG-2, DV, or any stream flagged interlaced), from its pictures with "
    "ffmpeg's idet; it is deinterlaced with bwdif before the model, keeping the frame rate. 3:2 telecined "
    "film gets inverse telecine (fieldmatch + decimate, back to 24 fps). Progressive input is never "
    "touched. The output is progressive; the job log says what was done. See --deinterlace."
)


def upscale_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vrt-upscale",
        description="Upscale videos 4x with VRT (streaming, resumable).",
        epilog=TIMING_HELP + " " + FIELDS_HELP,
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT [OUTPUT]", help="videos, PNG-frame folders or folders of videos")
    p.add_argument("-o", "--output", help="output file for a single input (with --overwrite to replace one)")
    p.add_argument("--model", default="tiny", help="tiny (built-in), reds_6f, reds_16f, bicubic, or a .ckpt/.pth file")
    p.add_argument("--device", default="auto", help="auto, cpu, gpu[:N] or ascend[:N] (see --list-devices)")
    p.add_argument("--tile", type=int, default=None, help="spatial tile in input pixels (0: whole frame; default auto)")
    p.add_argument("--tile-overlap", type=int, default=20)
    p.add_argument("--chunk", type=int, default=None, help="frames per temporal chunk (default auto)")
    p.add_argument("--chunk-overlap", type=int, default=2)
    p.add_argument("--codec", default="h264", choices=["h264", "h265", "ffv1", "vp9", "png"])
    p.add_argument("--crf", type=int, default=18)
    p.add_argument("--preset", default="medium", help="x264/x265 preset")
    p.add_argument("--output-dir", help="folder for outputs (default: beside each input)")
    part = p.add_argument_group(
        "part of a video",
        "Upscale only frames START to END (END not included), e.g. to try a scene first. A position is "
        "seconds (90, 90.5), MM:SS(.ms), HH:MM:SS(.ms) or a frame number with f (f2250; the first frame is "
        "f0); a time means the first frame shown at or after it. --start f40 --end f80 is frames 40-79. "
        "Audio, subtitles and chapters are cut to the same part (the audio re-encoded to cut it to the sample); "
        "the frames around it are still read, so the part equals the same frames of a whole-video run. "
        "The output is named NAME_x4_fFIRST-LAST.ext unless -o is given.",
    )
    part.add_argument("--start", metavar="POS", help="first frame of the part (default: the first)")
    part.add_argument("--end", metavar="POS", help="first frame after the part (default: to the end)")
    part.add_argument("--duration", metavar="POS", help="length of the part instead of --end (10, 0:10, f250)")
    p.add_argument("--no-audio", action="store_true", help="drop audio streams")
    p.add_argument("--no-subtitles", action="store_true", help="drop subtitle streams")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument(
        "--preview-frame", type=int, metavar="N", help="write one side-by-side PNG (bicubic | model) and stop"
    )
    p.add_argument("--preview-out", help="path of the --preview-frame PNG")
    p.add_argument(
        "--segment-frames",
        type=int,
        default=120,
        help="frames per resumable segment (a kill loses at most one)",
    )
    p.add_argument(
        "--deinterlace",
        default="auto",
        choices=["auto", "off", "frame", "field"],
        help="interlaced input: auto (default) detects it and deinterlaces (bwdif, same frame rate) or inverse-"
        "telecines film, leaving progressive input untouched; off: never; frame: deinterlace every input, "
        "same frame rate; field: deinterlace every input, one frame per field (double frame rate)",
    )
    p.add_argument("--eager", action="store_true", help="run the model op by op instead of a compiled graph")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="on a CPU: model processes running tiles side by side, one core each (default: one per core; "
        "1: none, the model runs in this process)",
    )
    p.add_argument(
        "--estimate", action="store_true", help="print how long each job would take (a short calibration) and stop"
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="run as one of msrun's ranks, sharing the job's segments with the others (one device each; "
        "rank 0 writes the output): msrun --worker_num=N --local_worker_num=N --master_port=P --join=True "
        "vrt-upscale INPUT -o OUTPUT --distributed",
    )
    add_cache_options(p)
    p.add_argument("--clear-cache", action="store_true", help="remove the cached graphs and timings first")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=_version())
    return p


def _version() -> str:
    from . import __version__

    return f"vrt-upscale {__version__}"


def upscale_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of vrt-upscale."""
    if argv is None:
        argv = sys.argv[1:]
    if list(argv) == ["--list-devices"]:  # no inputs needed: print what MindSpore can use here
        from .devices import device_listing

        print("\n".join(device_listing()))
        return 0
    args = upscale_parser().parse_args(argv)
    return run_guarded("vrt-upscale", _run_upscale, args)
