"""Eager (PyNative) speed on CPU with MindSpore's asynchronous kernel launch against blocking launch.

    .venv/bin/python bench/eager_launch.py                       # tiny forward and a micro training step
    .venv/bin/python bench/eager_launch.py --models tiny --repeats 3

`vrt_engine.devices.activate` makes CPU launches blocking (`mindspore.runtime.launch_blocking`). Why: on
a machine with few cores the asynchronous pipeline's dispatch threads compete with the kernels' own
threads. Each (model, launch) runs in a fresh process; it prints the median of the calls after the first,
for one eager forward and for one training step (forward, backward, no optimiser) on the same input.
"micro" is the trainer tests' architecture (tests/trainer_fixtures.py) on a 2-frame 40x40 crop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHAPES = {"micro": (1, 2, 3, 40, 40), "tiny": (1, 6, 3, 64, 64)}


def measure_one(model_name: str, launch: str, repeats: int) -> dict:
    """Seconds of one eager forward and one forward+backward, the median of `repeats` after a first call."""
    import mindspore as ms
    import numpy as np

    from vrt_engine import build_model
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"), blocking_launch=launch == "blocking")
    if model_name == "micro":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from trainer_fixtures import MICRO_ARCH

        net = build_model(MICRO_ARCH)
    else:
        net = build_model(model_name)
    rng = np.random.default_rng(0)
    shape = SHAPES[model_name]
    lq = ms.Tensor(rng.random(shape, dtype=np.float32))
    gt = ms.Tensor(rng.random((*shape[:3], 4 * shape[3], 4 * shape[4]), dtype=np.float32))

    def loss(a, b):
        return ((net(a) - b) ** 2).mean()

    grad = ms.value_and_grad(loss, None, net.trainable_params())
    forward, step = [], []
    for _ in range(repeats + 1):
        net.set_train(False)
        start = time.perf_counter()
        net(lq).asnumpy()
        forward.append(time.perf_counter() - start)
        net.set_train(True)
        start = time.perf_counter()
        grad(lq, gt)[0].asnumpy()
        step.append(time.perf_counter() - start)
    return {"forward_s": statistics.median(forward[1:]), "step_s": statistics.median(step[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["micro", "tiny"], choices=sorted(SHAPES))
    parser.add_argument("--repeats", type=int, default=2, help="timed calls after the first (default 2)")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "LAUNCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.one:
        print(json.dumps(measure_one(args.one[0], args.one[1], args.repeats)))
        return
    print(f"CPU eager, median of {args.repeats} calls after the first")
    print(f"{'model':6} {'input':18} {'launch':9} {'forward s':>9} {'train step s':>12}")
    for model_name in args.models:
        for launch in ("async", "blocking"):
            cmd = [sys.executable, __file__, "--one", model_name, launch, "--repeats", str(args.repeats)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
                print(f"{model_name:6} {launch:9} failed: {tail[0]}", flush=True)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            shape = "x".join(map(str, SHAPES[model_name]))
            print(f"{model_name:6} {shape:18} {launch:9} {r['forward_s']:9.2f} {r['step_s']:12.2f}", flush=True)


if __name__ == "__main__":
    main()
