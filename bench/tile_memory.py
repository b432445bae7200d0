"""Peak memory and time of one compiled model call per tile size, in one process pinned to one core.

    .venv/bin/python bench/tile_memory.py                                   # tiny, chunk 12, tiles 64 96 128 160
    .venv/bin/python bench/tile_memory.py --chunk 24 --tiles 128 176 --memory-level O1
    .venv/bin/python bench/tile_memory.py --jit-level O1

Each size runs in a fresh process set up as a model worker is (pinned to core 0, one thread, graph
mode): compile and run once, then run again ("steady s"). "peak MB" is the process's peak resident
memory (ru_maxrss), which is what the runner's planner must keep under one worker's share of the
budget; "KB/px-frame" is the peak above the process's memory after loading the model, per input
pixel-frame. Why: the planner's constants (vrt_engine/runner.py) decide the tile size, and the tile
size decides how many pixels the overlap makes the model compute twice.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(model: str, chunk: int, tile: int, memory_level: str | None, jit_level: str) -> dict:
    """One (chunk, tile): load, compile and run, run again; peak RSS of this process."""
    import numpy as np

    from vrt_engine.devices import Device, activate, pin_to_core

    pin_to_core(0)
    import mindspore as ms

    from vrt_engine import load_model

    activate(Device("cpu"))
    if memory_level:
        ms.runtime.set_memory(optimize_level=memory_level)
    net = load_model(model)
    net.set_train(False)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    forward = ms.jit(net.construct, jit_level=jit_level)
    x = ms.Tensor(np.random.default_rng(0).random((1, chunk, 3, tile, tile), dtype=np.float32))
    start = time.perf_counter()
    out = forward(x).asnumpy()
    first = time.perf_counter() - start
    start = time.perf_counter()
    again = forward(x).asnumpy()
    steady = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "chunk": chunk,
        "tile": tile,
        "first_s": first,
        "steady_s": steady,
        "peak_mb": peak / 2**20,
        "loaded_mb": loaded / 2**20,
        "kb_per_pixel_frame": (peak - loaded) / (chunk * tile * tile) / 1000,
        "same": bool(np.array_equal(out, again)),
        "checksum": float(np.float64(out).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--chunk", type=int, default=12)
    parser.add_argument("--tiles", type=int, nargs="+", default=[64, 96, 128, 160])
    parser.add_argument("--memory-level", choices=["O0", "O1"], help="mindspore.runtime.set_memory(optimize_level=)")
    parser.add_argument("--jit-level", default="O0", choices=["O0", "O1", "O2"])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.model, args.chunk, args.one, args.memory_level, args.jit_level)))
        return
    print(f"model {args.model}, chunk {args.chunk}, one process pinned to one core, jit_level {args.jit_level}, "
          f"memory optimize level {args.memory_level or 'default'}")
    print(f"{'tile':>5} {'first s':>8} {'steady s':>9} {'peak MB':>8} {'loaded MB':>9} {'KB/px-frame':>11} checksum")
    for tile in args.tiles:
        cmd = [sys.executable, __file__, "--one", str(tile), "--model", args.model, "--chunk", str(args.chunk),
               "--jit-level", args.jit_level]
        cmd += ["--memory-level", args.memory_level] if args.memory_level else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            print(f"{tile:>5} failed: {tail}", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{tile:>5} {r['first_s']:>8.1f} {r['steady_s']:>9.2f} {r['peak_mb']:>8.0f} {r['loaded_mb']:>9.0f} "
              f"{r['kb_per_pixel_frame']:>11.1f} {r['checksum']:.6g}", flush=True)


if __name__ == "__main__":
    main()
