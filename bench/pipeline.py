"""Where an upscale job's time and memory go: the network against everything else, short against long clips.

    .venv/bin/python bench/pipeline.py                                   # tiny, 640x360, 60 and 600 frames
    .venv/bin/python bench/pipeline.py --model tiny --size 640x360 --frames 12 --tile 0
    .venv/bin/python bench/pipeline.py --model bicubic --size 320x180 --frames 60 600

For each clip length, a generated clip (testsrc2 video with sound) is upscaled by a real job
(decode -> chunks -> tiles -> model -> blend -> encode -> mux) in a fresh process. "model s" is the time
inside the network's forward calls, "compile s" the first of them (graph compilation in graph mode),
reported apart because it is paid once per tile shape, not per frame. Overhead is everything else
(decode, tiling, blending, encode, mux) as a share of the end-to-end time less that first call.
Peak memory is sampled every 50 ms as the resident set of the job process plus all its children
together (the ffmpeg decoder and encoder, which run at once, and the model worker processes on a CPU);
"workers MB" and "ffmpeg MB" are those children's shares at their own peaks. (RUSAGE_CHILDREN is no
use here: a child's maximum counts the Python image it was forked from.) A named model whose weights
are not installed runs with random weights of its architecture: speed does not depend on them.

Targets: overhead <= 10%, and peak memory of the longest clip <= 1.1x that of the shortest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any


def _model_path(name: str, folder: Path) -> str:
    """The installed model, or a random-weight checkpoint of a preset written into `folder`."""
    from vrt_engine.models_dir import resolve_model
    from vrt_engine.weights import WeightsError

    if name == "bicubic":
        return name
    try:
        resolve_model(name)
        return name
    except WeightsError:
        path = random_weights_checkpoint(name, folder / f"{name}_random.ckpt")
        print(f"note: no installed weights for '{name}': random weights (speed only)", file=sys.stderr)
        return str(path)


def random_weights_checkpoint(preset_or_mapping: str | Mapping[str, Any], path: Path) -> Path:
    """A checkpoint of ours (architecture inside) with freshly initialised weights: speed does not depend on them."""
    from vrt_engine.model import build_model, config_from, config_to_dict
    from vrt_engine.weights import save_checkpoint

    cfg = config_from(preset_or_mapping)
    save_checkpoint(build_model(cfg), path, config_to_dict(cfg))
    return path


def _rss_bytes(pid: int) -> int:
    """Resident memory of one process, from /proc (0 for one that just ended)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _is_ffmpeg(pid: int) -> bool:
    """Whether a process is an ffmpeg (the decoder or encoder), not a model worker."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().startswith("ffmpeg")
    except OSError:
        return False


def _descendants(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
    except OSError:
        return []
    return children + [d for c in children for d in _descendants(c)]


class PeakSampler:
    """Samples the summed resident memory of this process and its children while a job runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.peak = 0
        self.ffmpeg_peak = 0
        self.workers_peak = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            sizes = {c: _rss_bytes(c) for c in _descendants(pid)}
            children = sum(sizes.values())
            ffmpeg = sum(v for c, v in sizes.items() if _is_ffmpeg(c))
            self.ffmpeg_peak = max(self.ffmpeg_peak, ffmpeg)
            self.workers_peak = max(self.workers_peak, children - ffmpeg)
            self.peak = max(self.peak, _rss_bytes(pid) + children)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measure_one(model: str, width: int, height: int, frames: int, tile: int | None, chunk: int | None) -> dict:
    """Make a clip, run one job on it, report seconds (end to end, in the model) and peak memory."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the clip maker lives with the tests
    from clips import make_test_clip

    from vrt_engine.job import Finished, Job, JobRunner, JobSettings

    with tempfile.TemporaryDirectory(prefix="vrt-bench-") as tmp:
        folder = Path(tmp)
        clip = make_test_clip(folder / "clip.mp4", width, height, frames, Fraction(25), audio=True)
        settings = JobSettings(model=_model_path(model, folder), tile=tile, chunk=chunk, codec="h264", crf=18)
        runner = JobRunner()
        job_runner = runner.runner_for(settings)
        with PeakSampler() as sampler:
            start = time.perf_counter()
            event = runner.run(Job(clip, folder / "out.mp4", settings))
            seconds = time.perf_counter() - start
        if not isinstance(event, Finished):
            raise SystemExit(f"pipeline: job did not finish: {event}")
    return {
        "seconds": seconds,
        "model_seconds": job_runner.model_seconds,
        "compile_seconds": job_runner.first_call_seconds,
        "model_calls": job_runner.model_calls,
        "peak_mb": sampler.peak / 2**20,
        "self_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ffmpeg_peak_mb": sampler.ffmpeg_peak / 2**20,
        "workers_peak_mb": sampler.workers_peak / 2**20,
    }


def overhead(r: dict) -> float:
    """Share of the end-to-end time outside the model, not counting the first (compiling) call."""
    steady = r["seconds"] - r["compile_seconds"]
    return (steady - (r["model_seconds"] - r["compile_seconds"])) / steady if steady > 0 else 0.0


def run_isolated(args: argparse.Namespace, frames: int) -> dict:
    cmd = [sys.executable, __file__, "--one", "--model", args.model, "--size", args.size, "--frames", str(frames)]
    if args.tile is not None:
        cmd += ["--tile", str(args.tile)]
    if args.chunk is not None:
        cmd += ["--chunk", str(args.chunk)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"pipeline: {frames} frames failed: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the generated input")
    parser.add_argument("--frames", nargs="+", type=int, default=[60, 600])
    parser.add_argument("--tile", type=int, default=None, help="tile size (0 = whole frame; default automatic)")
    parser.add_argument("--chunk", type=int, default=None, help="frames per chunk (default automatic)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.one:
        print(json.dumps(measure_one(args.model, width, height, args.frames[0], args.tile, args.chunk)))
        return
    print(f"model {args.model}, input {width}x{height} at 25 fps with audio, h264 out; each run in a fresh process")
    print(
        f"{'frames':>6} {'end-to-end s':>12} {'model s':>8} {'compile s':>9} {'overhead':>8} {'fps':>6} "
        f"{'peak MB':>8} {'job MB':>7} {'workers MB':>10} {'ffmpeg MB':>9}"
    )
    runs = []
    for frames in args.frames:
        r = run_isolated(args, frames)
        print(
            f"{frames:6d} {r['seconds']:12.1f} {r['model_seconds']:8.1f} {r['compile_seconds']:9.1f} "
            f"{overhead(r):8.1%} {frames / r['seconds']:6.2f} {r['peak_mb']:8.0f} {r['self_peak_mb']:7.0f} "
            f"{r['workers_peak_mb']:10.0f} {r['ffmpeg_peak_mb']:9.0f}",
            flush=True,
        )
        runs.append((frames, r))
    worst = max(overhead(r) for _, r in runs)
    print(f"target overhead <= 10%: {'holds' if worst <= 0.10 else 'missed'} (worst {worst:.1%})")
    if len(runs) > 1:
        (f0, r0), (f1, r1) = runs[0], runs[-1]
        ratio = r1["peak_mb"] / r0["peak_mb"]
        verdict = "holds" if ratio <= 1.1 else "missed"
        print(f"target peak at {f1} frames <= 1.1x peak at {f0} frames: {verdict} ({ratio:.2f}x, job + ffmpeg)")

if __name__ == "__main__":
    main()
