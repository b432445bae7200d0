"""Run in a fresh process by tests/test_graph_cache.py: upscale random clips of the given shapes in turn.

    python tests/cache_child.py MODEL OUT.npz D,H,W [D,H,W ...]

Prints one JSON line: the graph cache's state for this process's first graph and the runner's notices.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def main() -> None:
    from vrt_engine.runner import Runner, RunnerSettings

    model, out_path, *shapes = sys.argv[1:]
    runner = Runner(model, "cpu", RunnerSettings(workers=1, tile=0, chunk=0))
    outputs = {}
    for text in shapes:
        d, h, w = (int(v) for v in text.split(","))
        frames = np.random.default_rng(d * 1000 + h).random((d, h, w, 3), dtype=np.float32)
        outputs[text] = runner.upscale(frames, 0)
    np.savez(out_path, **outputs)
    report = {"state": runner.graph_cache_state, "first_s": runner.first_call_seconds, "notices": runner.pop_notices()}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
