"""Forward time and peak memory of our VRT on CPU, graph mode (mindspore.jit) against eager (PyNative).

    .venv/bin/python bench/model_speed.py                      # tiny and reds_6f on (1, 6, 3, 64, 64)
    .venv/bin/python bench/model_speed.py --models tiny --shape 1 6 3 64 64 --repeats 5
    .venv/bin/python bench/model_speed.py --models reds_6f --modes graph \
        --reference-python /path/to/torch/bin/python --vrt-repo /path/to/VRT   # the reference in the same run

Each (model, mode) runs in its own process so that its peak resident memory is its own. The first call
includes graph compilation and is reported apart; "steady" is the median of the calls after it.
The ratio column is the reference PyTorch VRT's time for reds_6f over ours (> 1: ours is faster). With
--reference-python and --vrt-repo (a Python with torch + torchvision + einops, and a checkout of
JingyunLiang/VRT; torch never enters this project's environment), the reference runs in this bench too,
right after ours, in its own process, with as many torch threads as there are cores, the same input
shape and the same number of calls, so both sides see the same machine load: this machine's speed varies
by the hour (the reference took 30-56 s on different days). Without them the ratio is taken against the
fixed 34 s measured once (shared/NOTES.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REFERENCE_REDS_6F_SECONDS = 34.0


def measure_one(model_name: str, mode: str, shape: list[int], repeats: int) -> dict:
    """Build the model with random weights and time `repeats` + 1 forwards in one mode."""
    import mindspore as ms
    import numpy as np

    from vrt_engine import build_model
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"))  # as the engine runs: blocking eager launch (bench/eager_launch.py)
    net = build_model(model_name)
    net.set_train(False)
    forward = ms.jit(net.construct) if mode == "graph" else net
    x = ms.Tensor(np.random.default_rng(0).random(shape, dtype=np.float32))
    return time_calls(lambda: forward(x).asnumpy(), repeats)


def time_calls(call: Callable[[], object], repeats: int) -> dict:
    """First call apart (compilation), the median of `repeats` calls after it, and this process's peak memory."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"first_s": times[0], "steady_s": statistics.median(times[1:]), "peak_mb": peak_mb}


def measure_reference(vrt_repo: str, shape: list[int], repeats: int) -> dict:
    """The authors' reds_6f with random weights, timed like measure_one (run by a Python with torch)."""
    import os

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from parity import REDS_6F  # the released 6-frame architecture, as bench/parity.py builds it

    sys.path.insert(0, str(Path(vrt_repo).resolve()))
    from models.network_vrt import VRT  # the reference, from the user's checkout

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    net = VRT(**REDS_6F).eval()
    x = torch.rand(*shape)
    with torch.no_grad():
        return time_calls(lambda: net(x), repeats)


def run_isolated(
    model_name: str, mode: str, shape: list[int], repeats: int, python: str = sys.executable, vrt_repo: str = ""
) -> dict | str:
    """The measurement of one (model, mode) in a fresh process, or why it failed.

    mode "reference" runs the authors' network with `python` from the checkout `vrt_repo`.
    """
    cmd = [python, __file__, "--one", model_name, mode, "--shape", *map(str, shape), "--repeats", str(repeats)]
    if vrt_repo:
        cmd += ["--vrt-repo", vrt_repo]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode == -9:
        return "killed (SIGKILL: out of memory)"
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return f"failed: {tail[0]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny", "reds_6f"])
    parser.add_argument("--modes", nargs="+", default=["graph", "eager"], choices=["graph", "eager"])
    parser.add_argument("--shape", nargs=5, type=int, default=[1, 6, 3, 64, 64], metavar=("N", "D", "C", "H", "W"))
    parser.add_argument("--repeats", type=int, default=2, help="timed calls after the first (default 2)")
    parser.add_argument("--reference-python", help="a Python with torch, to run the reference reds_6f too")
    parser.add_argument("--vrt-repo", help="a checkout of JingyunLiang/VRT (with --reference-python)")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.one[1] == "reference":
            print(json.dumps(measure_reference(args.vrt_repo, args.shape, args.repeats)))
        else:
            print(json.dumps(measure_one(args.one[0], args.one[1], args.shape, args.repeats)))
        return
    if bool(args.reference_python) != bool(args.vrt_repo):
        parser.error("--reference-python and --vrt-repo go together")
    if args.vrt_repo and not (Path(args.vrt_repo) / "models" / "network_vrt.py").is_file():
        parser.error(f"--vrt-repo {args.vrt_repo}: no models/network_vrt.py there")
    print(f"input {tuple(args.shape)}, CPU, {args.repeats} timed calls after the first")
    print(f"{'model':10} {'mode':9} {'first call s':>12} {'steady s':>9} {'peak MB':>8}")
    rows = [(m, mode) for m in args.models for mode in args.modes]
    if args.reference_python:
        rows.append(("reds_6f", "reference"))
    results = {}
    for model_name, mode in rows:
        python = args.reference_python if mode == "reference" else sys.executable
        r = run_isolated(model_name, mode, args.shape, args.repeats, python, args.vrt_repo or "")
        results[model_name, mode] = r
        if isinstance(r, str):
            print(f"{model_name:10} {mode:9} {r}", flush=True)
            continue
        print(f"{model_name:10} {mode:9} {r['first_s']:12.2f} {r['steady_s']:9.2f} {r['peak_mb']:8.0f}", flush=True)
    reference = results.get(("reds_6f", "reference"))
    if isinstance(reference, dict):
        reference_s, source = reference["steady_s"], "the reference measured above"
    elif args.shape == [1, 6, 3, 64, 64]:
        reference_s, source = REFERENCE_REDS_6F_SECONDS, f"the fixed {REFERENCE_REDS_6F_SECONDS:.0f} s"
    else:
        return
    for mode in args.modes:
        ours = results.get(("reds_6f", mode))
        if isinstance(ours, dict):
            ratio = reference_s / ours["steady_s"]
            print(f"reds_6f {mode}: reference / ours = {ratio:.2f} ({source}, {reference_s:.2f} s)")


if __name__ == "__main__":
    main()
