"""Seconds per training iteration of a recipe on this machine: one process vs msrun data-parallel workers.

    python bench/train_speed.py [--config trainer/configs/tiny_cpu.yaml] [--iterations 6] [--workers 2]
                                [--eager] [--data DIR] [--set KEY=VALUE ...]

Makes a mini-REDS with `vrt-trainer make-synthetic` (unless --data is given; clips long enough for the
recipe's num_frame), trains the recipe for a few iterations once as a single process and once under
msrun with --workers processes at the same global batch, and prints a table: s/iter (median over the
iterations after the first, which includes graph compilation), seconds from the start to the end of the
first iteration (start-up and compilation), wall time, peak host memory and, where nvidia-smi is present,
peak GPU memory of those processes. Host memory is the summed proportional set size (PSS) of every process
of the run (msrun, its workers, their data workers), sampled every 0.2 s: summed RSS would count the pages
that forked data workers share with their parent once per process.
The step timed is the full one (train.fix_iter=0: every parameter trains, as after fix_iter, which is most
of a recipe); --set train.fix_iter=N times the frozen-phase step instead.
The published recipes read LMDB stores, a meta-info file and the authors' SpyNet: the bench replaces
them by the generated PNG folders and a SpyNet trained from scratch, which does not change the step time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gpu_memory_mb(pids: set[int]) -> float:
    """GPU memory (MB) used by these processes, from nvidia-smi; 0 without one."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0.0
    out = subprocess.run([smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True).stdout
    total = 0.0
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and int(parts[0]) in pids and parts[1].isdigit():
            total += float(parts[1])
    return total


class PeakMemory(threading.Thread):
    """Samples a process tree: peak summed PSS (MB; RSS where PSS cannot be read) and peak GPU memory (MB)."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.every = psutil.Process(pid), every
        self.host = self.gpu = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            host = 0
            for p in procs:
                try:
                    host += p.memory_full_info().pss
                except (psutil.Error, AttributeError):
                    try:
                        host += p.memory_info().rss
                    except psutil.Error:
                        pass
            self.host = max(self.host, host / 2**20)
            self.gpu = max(self.gpu, _gpu_memory_mb({p.pid for p in procs}))
            self.done.wait(self.every)


def _run(cmd: list[str], cwd: Path, logs: Path | None = None) -> tuple[float, float, float, float]:
    """(wall seconds, time.time() at the start, peak host PSS MB of the whole tree, peak GPU MB).

    On failure it exits with the command's output and the tail of each msrun worker log in ``logs``.
    """
    start, started = time.perf_counter(), time.time()
    log = tempfile.TemporaryFile("w+")
    # msrun starts workers with the `python` on PATH: it must be this environment's.
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", GLOG_v="3")
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    meter = PeakMemory(proc.pid)
    meter.start()
    code = proc.wait()
    meter.done.set()
    meter.join()
    wall = time.perf_counter() - start
    if code != 0:
        log.seek(0)
        workers = sorted(logs.glob("worker_*.log")) if logs is not None and logs.is_dir() else []
        tails = "".join(f"\n--- {w.name}\n{w.read_text(errors='replace')[-3000:]}" for w in workers)
        sys.exit(f"failed: {' '.join(cmd)}\n{log.read()[-4000:]}{tails}")
    return wall, started, meter.host, meter.gpu


def _iteration_times(run_dir: Path) -> list[float]:
    """time.time() at the end of each iteration, from the run's history.jsonl (rank 0 writes it)."""
    return [json.loads(line)["time"] for line in (run_dir / "history.jsonl").read_text().splitlines()]


def main() -> int:
    from trainer.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="trainer/configs/tiny_cpu.yaml")
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--eager", action="store_true", help="PyNative instead of graph mode")
    ap.add_argument("--data", help="an existing mini-REDS (after prepare-reds)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more recipe overrides")
    args = ap.parse_args()
    config = str(Path(args.config).resolve())
    recipe = load_config(config, args.set)
    num_frame = recipe.data.train.num_frame
    work = Path(tempfile.mkdtemp(prefix="train_speed_"))
    data = Path(args.data) if args.data else work / "data"
    if not args.data:
        size = max(256, recipe.data.train.gt_size)
        subprocess.run([str(BIN / "vrt-trainer"), "make-synthetic", str(data), "--clips", "4", "--frames",
                        str(max(4, num_frame)), "--size", f"{size}x{size}"], check=True, cwd=ROOT)
        subprocess.run([str(BIN / "vrt-trainer"), "prepare-reds", str(data)], check=True, cwd=ROOT)
    sets = [f"train.iterations={args.iterations}", f"train.periods={args.iterations}", "train.fix_iter=0",
            "checkpoint.every=100000",
            "val.every=100000", "log.every=1", "data.val.dataroot_gt=null", "data.val.dataroot_lq=null",
            f"data.train.dataroot_gt={data}/train_sharp", f"data.train.dataroot_lq={data}/train_sharp_bicubic/X4",
            "data.train.io_backend=disk", "data.train.meta_info_file=null", "model.spynet_path=null",
            f"data.train.batch_size={args.workers}", f"train.graph={'false' if args.eager else 'true'}", *args.set]
    final = load_config(config, sets)  # what both runs train, after the bench's and the user's overrides
    results = {}
    for label, workers in (("1 process", 1), (f"msrun x{args.workers}", args.workers)):
        out = work / f"run{workers}"
        logs = work / f"msrun_logs{workers}"
        train = [str(BIN / "vrt-trainer"), "train", "--config", config, "--set", f"output={out}"]
        for s in sets:
            train += ["--set", s]
        if workers == 1:
            cmd = train
        else:
            cmd = [str(BIN / "msrun"), f"--worker_num={workers}", f"--local_worker_num={workers}",
                   f"--master_port={_free_port()}", f"--log_dir={logs}", "--join=True", *train]
        wall, started, pss, gpu = _run(cmd, ROOT, logs if workers > 1 else None)
        times = _iteration_times(out / final.name)
        steps = [b - a for a, b in zip(times, times[1:])]
        results[label] = (statistics.median(steps) if steps else float("nan"), times[0] - started, wall, pss, gpu)
    print(f"recipe {args.config}, global batch {final.data.train.batch_size}, {args.iterations} iterations, "
          f"{'graph' if final.train.graph else 'eager'} mode, fix_iter {final.train.fix_iter}"
          + (f", overrides: {' '.join(args.set)}" if args.set else ""))
    print(f"| {'run':<10} | s/iter (median after the first) | start to end of iteration 1 s | wall s "
          "| peak host PSS, all processes MB | peak GPU MB |")
    print("|------------|------|------|------|------|------|")
    for label, (step, first, wall, pss, gpu) in results.items():
        print(f"| {label:<10} | {step:.2f} | {first:.1f} | {wall:.1f} | {pss:.0f} | {f'{gpu:.0f}' if gpu else '-'} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
