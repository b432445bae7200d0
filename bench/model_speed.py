"""Forward time and peak memory of our VRT on CPU, graph mode (mindspore.jit) against eager (PyNative).

    .venv/bin/python bench/model_speed.py                      # tiny and reds_6f on (1, 6, 3, 64, 64)
    .venv/bin/python bench/model_speed.py --models tiny --shape 1 6 3 64 64 --repeats 5

Each (model, mode) runs in its own process so that its peak resident memory is its own. The first call
includes graph compilation and is reported apart; "steady" is the median of the calls after it.
The reference PyTorch VRT (reds_6f, torch 2.14.1) takes about 34 s for one forward on this input on
a 2-core CPU (shared/NOTES.md); the ratio column is the reference time over ours (> 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

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
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        forward(x).asnumpy()
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"first_s": times[0], "steady_s": statistics.median(times[1:]), "peak_mb": peak_mb}


def run_isolated(model_name: str, mode: str, shape: list[int], repeats: int) -> dict | str:
    """The measurement of one (model, mode) in a fresh process, or why it failed."""
    cmd = [sys.executable, __file__, "--one", model_name, mode, "--shape", *map(str, shape)]
    cmd += ["--repeats", str(repeats)]
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
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], args.one[1], args.shape, args.repeats)))
        return
    print(f"input {tuple(args.shape)}, CPU, {args.repeats} timed calls after the first")
    print(f"{'model':10} {'mode':6} {'first call s':>12} {'steady s':>9} {'peak MB':>8} {'ref/ours':>8}")
    for model_name in args.models:
        for mode in args.modes:
            r = run_isolated(model_name, mode, args.shape, args.repeats)
            if isinstance(r, str):
                print(f"{model_name:10} {mode:6} {r}", flush=True)
                continue
            comparable = model_name == "reds_6f" and args.shape == [1, 6, 3, 64, 64]
            ratio = f"{REFERENCE_REDS_6F_SECONDS / r['steady_s']:.2f}" if comparable else "-"
            print(
                f"{model_name:10} {mode:6} {r['first_s']:12.2f} {r['steady_s']:9.2f} {r['peak_mb']:8.0f} {ratio:>8}",
                flush=True,
            )


if __name__ == "__main__":
    main()
