"""First call (graph compilation) of a model in a fresh process: cold (empty graph cache) against warm.

    .venv/bin/python bench/graph_cache.py                          # tiny and reds_6f, (1, 6, 3, 64, 64)
    .venv/bin/python bench/graph_cache.py --models tiny --shape 1 6 3 64 64

Each figure is a new process with the model in that process (workers 1): the first with an empty cache
folder (compiles and saves), the second with the same folder (loads). reds_6f runs with random weights
when none are installed (speed does not depend on them). Also checks that the outputs are bit for bit
the same. The issue's target: warm <= 15 % of cold. A second call in the same process shows how much of a
first call is the computation itself rather than compiling (cold) or loading the cached graph (warm).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import random_weights_checkpoint  # noqa: E402  (bench/ is on the path only now)


def one(model: str, shape: list[int], out: str) -> dict:
    """In the child: load, time the first call, save the output."""
    start = time.perf_counter()
    from vrt_engine.runner import Runner, RunnerSettings

    runner = Runner(model, "cpu", RunnerSettings(workers=1, tile=0, chunk=0))
    load = time.perf_counter() - start
    _, d, _, h, w = shape
    frames = np.random.default_rng(0).random((d, h, w, 3), dtype=np.float32)
    start = time.perf_counter()
    y = runner.upscale(frames, 0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    runner.upscale(frames, 0)  # the call itself, compiled: what a first call costs beyond compiling or loading
    steady = time.perf_counter() - start
    np.save(out, y)
    return {"load_s": load, "first_s": first, "steady_s": steady, "cache": runner.graph_cache_state,
            "notices": runner.pop_notices()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny", "reds_6f"])
    parser.add_argument("--shape", type=int, nargs=5, default=[1, 6, 3, 64, 64])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.shape, args.one[1])))
        return
    from vrt_engine.models_dir import named_model_path

    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            path = named_model_path(model) or random_weights_checkpoint(model, Path(folder) / f"{model}.ckpt")
            env = dict(os.environ, VRT_CACHE_DIR=str(Path(folder) / f"cache-{model}"))
            runs = []
            for name in ("cold", "warm"):
                out = str(Path(folder) / f"{model}-{name}.npy")
                cmd = [sys.executable, __file__, "--shape", *map(str, args.shape), "--one", str(path), out]
                result = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if result.returncode:  # one line, e.g. killed for memory (-9), not a traceback
                    tail = (result.stderr.strip().splitlines() or [""])[-1]
                    raise SystemExit(f"{model} {name}: the child exited with {result.returncode} {tail}")
                runs.append(json.loads(result.stdout.strip().splitlines()[-1]) | {"out": out})
                r = runs[-1]
                print(f"{model} {name}: first call {r['first_s']:.1f} s ({r['cache']}), second {r['steady_s']:.1f} s",
                      flush=True)  # fmt: skip
            cold, warm = runs
            same = np.array_equal(np.load(cold["out"]), np.load(warm["out"]))
            print(
                f"{model} {tuple(args.shape)}: cold first call {cold['first_s']:.1f} s ({cold['cache']}), "
                f"warm {warm['first_s']:.1f} s ({warm['cache']}): {100 * warm['first_s'] / cold['first_s']:.0f} %; "
                f"beyond the call itself: cold {cold['first_s'] - cold['steady_s']:.1f} s, warm "
                f"{warm['first_s'] - warm['steady_s']:.1f} s; "
                f"outputs identical: {same}"
            )


if __name__ == "__main__":
    main()
