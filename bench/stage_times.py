"""Where one eager forward spends its time, part by part: flows, each stage (split into its two attention
groups and its parallel warping), each stage-8 block and the reconstruction.

    .venv/bin/python bench/stage_times.py                       # reds_6f on (1, 6, 3, 64, 64)
    .venv/bin/python bench/stage_times.py --model tiny --repeats 2

Each part is run on its own and synchronised (`asnumpy`), so the figures add up to about one forward.
The first pass pays one-off costs (kernel set-up), so the last pass is what is printed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def _last_tensor(value):
    while isinstance(value, (tuple, list)):
        value = value[-1]
    return value


def timed(times: dict[str, float], label: str, run: Callable, *args):
    """Run `run(*args)`, wait for its result, and record the seconds under `label`."""
    start = time.perf_counter()
    out = run(*args)
    _last_tensor(out).asnumpy()
    times[label] = time.perf_counter() - start
    return out


def one_pass(net, x) -> dict[str, float]:
    """Seconds per part of one forward, the parts fed with each other's outputs as in VRT.construct."""
    from mindspore import ops

    from vrt_engine.model.alignment import align_features
    from vrt_engine.model.vrt import STAGE_SCALES

    times: dict[str, float] = {}
    backward, forward = timed(times, "flows (SpyNet)", lambda: net.get_flows(x))
    aligned = timed(times, "aligned images", lambda: net._aligned_images(x, backward[0], forward[0]))
    feat = timed(times, "conv_first", lambda: net.conv_first(ops.cat((x, *aligned), axis=2).swapaxes(1, 2)))
    outputs = []
    inputs = feat
    for i, scale in enumerate(STAGE_SCALES):
        name = f"stage{i + 1}"
        stage = getattr(net, name)
        level = scale.bit_length() - 1  # flows come per scale 1, 1/2, 1/4, 1/8
        flows_b, flows_f = backward[level::4], forward[level::4]
        if i == 5:
            inputs = inputs + outputs[2]
        if i == 6:
            inputs = inputs + outputs[1]
        y = timed(times, f"{name} reshape", stage.reshape, inputs)
        g1 = timed(times, f"{name} mutual+self attention", stage.residual_group1, y)
        y = stage._channels_residual(stage.linear1, g1, y)
        g2 = timed(times, f"{name} self attention", stage.residual_group2, y)
        y = stage._channels_residual(stage.linear2, g2, y).swapaxes(1, 2)
        pair = timed(times, f"{name} parallel warping", align_features, stage.pa_deform, y, flows_b, flows_f)
        fused = ops.cat((y, *pair), axis=2).transpose(0, 1, 3, 4, 2)
        inputs = timed(times, f"{name} fusion", stage.pa_fuse, fused).transpose(0, 4, 1, 2, 3)
        outputs.append(inputs)
    h = inputs + outputs[0]
    for i, layer in enumerate(net.stage8):
        h = timed(times, f"stage8 block {i}", layer, h)
    timed(times, "reconstruction", net._upscaled, feat)
    return times


def kind_of(label: str) -> str:
    """The part's kind, across stages: "parallel warping", "self attention", "stage8 blocks", ..."""
    if "block" in label:
        return "stage8 blocks"
    return label.split(" ", 1)[1] if label.startswith("stage") else label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="reds_6f")
    parser.add_argument("--shape", nargs=5, type=int, default=[1, 6, 3, 64, 64], metavar=("N", "D", "C", "H", "W"))
    parser.add_argument("--repeats", type=int, default=2, help="passes; the last is printed (default 2)")
    args = parser.parse_args()

    import mindspore as ms

    from vrt_engine import build_model
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"))  # as the engine runs: blocking eager launch (bench/eager_launch.py)
    try:
        net = build_model(args.model)
    except ValueError as error:  # an unknown preset: one line, not a traceback
        parser.error(str(error))
    net.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).random(args.shape, dtype=np.float32))
    for _ in range(args.repeats):
        times = one_pass(net, x)
    total = sum(times.values())
    print(f"{args.model} eager, input {tuple(args.shape)}, CPU: {total:.1f} s in all")
    groups: dict[str, float] = {}
    for label, seconds in times.items():
        print(f"{label:34} {seconds:7.2f} s {100 * seconds / total:5.1f}%")
        groups[kind_of(label)] = groups.get(kind_of(label), 0.0) + seconds
    print("\nby kind of part:")
    for kind, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"{kind:34} {seconds:7.2f} s {100 * seconds / total:5.1f}%")


if __name__ == "__main__":
    main()
