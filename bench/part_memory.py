"""Memory each compiled part of the model keeps, part by part (CPU, one process pinned to one core).

    .venv/bin/python bench/part_memory.py                       # tiny on (1, 12, 3, 64, 64)
    .venv/bin/python bench/part_memory.py --shape 1 6 3 96 96

Each part of bench/stage_times.py is compiled on its own and run twice; the resident memory the process
gains during each part's first run is printed (MB), then the second run's gain (about 0 when the kept
memory is reused). Why: a compiled MindSpore graph keeps memory outside its pool after a call
(bench/graph_memory.py); this shows which parts of the network keep the most (issue 23).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stage_times import Parts, one_pass  # noqa: E402  (bench/ is no package)


def resident_mb() -> float:
    """Current resident memory of this process (not the peak: what a part leaves behind)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


class MemoryParts(Parts):
    """Parts that also record the resident memory each run of a part adds."""

    def __init__(self) -> None:
        super().__init__(graph=True)
        self.gains: dict[str, list[float]] = {}

    def __call__(self, label: str, run, *args):
        before = resident_mb()
        out = super().__call__(label, run, *args)
        self.gains.setdefault(label, []).append(resident_mb() - before)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--shape", nargs=5, type=int, default=[1, 12, 3, 64, 64], metavar=("N", "D", "C", "H", "W"))
    args = parser.parse_args()

    import numpy as np

    from vrt_engine.devices import Device, activate, pin_to_core

    pin_to_core(0)
    activate(Device("cpu"))
    import mindspore as ms

    from vrt_engine import load_model

    net = load_model(args.model)
    net.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).random(args.shape, dtype=np.float32))
    parts = MemoryParts()
    print(f"{args.model}, input {tuple(args.shape)}, one core; after loading {resident_mb():.0f} MB")
    for _ in range(2):
        one_pass(net, x, parts)
    print(f"after two passes {resident_mb():.0f} MB\n{'part':34} {'1st MB':>7} {'2nd MB':>7}")
    for label, gains in sorted(parts.gains.items(), key=lambda kv: -kv[1][0]):
        print(f"{label:34} {gains[0]:7.0f} {gains[-1]:7.0f}")


if __name__ == "__main__":
    main()
