"""Seconds per training iteration of a recipe on this machine: one process vs msrun data-parallel workers.

    python bench/train_speed.py [--config trainer/configs/tiny_cpu.yaml] [--iterations 6] [--workers 2]
                                [--eager] [--data DIR]

Makes a mini-REDS with `vrt-trainer make-synthetic` (unless --data is given), trains the recipe for a few
iterations once as a single process and once under msrun with --workers processes at the same global batch,
and prints s/iter (median over the iterations after the first, which includes graph compilation), wall
time and peak resident memory (resource.getrusage of the child processes, and /usr/bin/time -v when present).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB of any child, output); uses /usr/bin/time -v when it exists."""
    timer = shutil.which("time", path="/usr/bin")
    full = [timer, "-v", *cmd] if timer else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(full, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(match.group(1)) / 1024 if match else max(peak, before) / 1024
    return wall, rss, proc.stdout + proc.stderr


def _per_iter(run_dir: Path) -> list[float]:
    times = [json.loads(line)["time"] for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return [b - a for a, b in zip(times, times[1:])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="trainer/configs/tiny_cpu.yaml")
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--eager", action="store_true", help="PyNative instead of graph mode")
    ap.add_argument("--data", help="an existing mini-REDS (after prepare-reds)")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    config = str(Path(args.config).resolve())
    work = Path(tempfile.mkdtemp(prefix="train_speed_"))
    data = Path(args.data) if args.data else work / "data"
    if not args.data:
        subprocess.run([str(BIN / "vrt-trainer"), "make-synthetic", str(data), "--clips", "4", "--frames", "4"],
                       check=True, cwd=root)
        subprocess.run([str(BIN / "vrt-trainer"), "prepare-reds", str(data)], check=True, cwd=root)
    sets = [f"train.iterations={args.iterations}", f"train.periods={args.iterations}", "checkpoint.every=100000",
            "val.every=100000", "log.every=1", "data.val.dataroot_gt=null", "data.val.dataroot_lq=null",
            f"data.train.dataroot_gt={data}/train_sharp", f"data.train.dataroot_lq={data}/train_sharp_bicubic/X4",
            f"data.train.batch_size={args.workers}", f"train.graph={'false' if args.eager else 'true'}"]
    results = {}
    for label, workers in (("1 process", 1), (f"msrun x{args.workers}", args.workers)):
        out = work / f"run{workers}"
        train = [str(BIN / "vrt-trainer"), "train", "--config", config, "--set", f"output={out}"]
        for s in sets:
            train += ["--set", s]
        if workers == 1:
            cmd = train
        else:
            cmd = [str(BIN / "msrun"), f"--worker_num={workers}", f"--local_worker_num={workers}",
                   f"--master_port={_free_port()}", f"--log_dir={work / 'msrun_logs'}", "--join=True", *train[0:]]
        wall, rss, _ = _run(cmd, root)
        run_dir = next(out.iterdir())
        steps = _per_iter(run_dir)
        results[label] = (statistics.median(steps) if steps else float("nan"), wall, rss)
    print(f"recipe {args.config}, global batch {args.workers}, {args.iterations} iterations, "
          f"{'eager' if args.eager else 'graph'} mode")
    for label, (step, wall, rss) in results.items():
        print(f"  {label:>10}: {step:7.2f} s/iter (median after the first), wall {wall:7.1f} s, peak RSS {rss:7.0f} MB")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
