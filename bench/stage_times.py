"""Where one eager forward spends its time, part by part: flows, each stage (split into its two attention
groups and its parallel warping), each stage-8 block and the reconstruction.

    .venv/bin/python bench/stage_times.py                       # reds_6f on (1, 6, 3, 64, 64)
    .venv/bin/python bench/stage_times.py --model tiny --repeats 2
    .venv/bin/python bench/stage_times.py --model tiny --graph     # each part compiled on its own
    .venv/bin/python bench/stage_times.py --model bench/smallest_vrt.yaml --graph   # any architecture

Each part is run on its own and synchronised (`asnumpy`), so the figures add up to about one forward.
The first pass pays one-off costs (kernel set-up, or compilation with --graph: each part is then its own
compiled graph, which is close to, not the same as, the whole model compiled at once), so the last pass
is what is printed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml


def _last_tensor(value):
    while isinstance(value, (tuple, list)):
        value = value[-1]
    return value


class Parts:
    """Runs and times the parts, each as it is (eager) or compiled on its own (mindspore.jit, --graph).

    Compiled parts are kept by label, so the second pass reuses them: its figures are steady graph times.
    """

    def __init__(self, graph: bool):
        self.graph = graph
        self.compiled: dict[str, Callable] = {}
        self.times: dict[str, float] = {}

    def __call__(self, label: str, run: Callable, *args):
        """Run `run(*args)`, wait for its result, and record the seconds under `label`."""
        if self.graph:
            import mindspore as ms

            run = self.compiled.setdefault(label, ms.jit(run))
        start = time.perf_counter()
        out = run(*args)
        _last_tensor(out).asnumpy()
        self.times[label] = time.perf_counter() - start
        return out


def one_pass(net, x, parts: Parts) -> dict[str, float]:
    """Seconds per part of one forward, the parts fed with each other's outputs as in VRT.construct."""
    from mindspore import ops

    from vrt_engine.model.alignment import align_features
    from vrt_engine.model.vrt import STAGE_SCALES

    def first_features(x, back, fwd):
        return net.conv_first(ops.cat((x, back, fwd), axis=2).swapaxes(1, 2))

    def warping_with(deform, hops: int):
        """A closure (graph mode resolves free variables, not default arguments) taking the flows as
        separate tensors: a compiled function takes a list argument as a constant and recompiles."""

        def warping(y, *flows):
            return align_features(deform, y, list(flows[:hops]), list(flows[hops:]))

        return warping

    backward, forward = parts("flows (SpyNet)", net.get_flows, x)
    aligned = parts("aligned images", net._aligned_images, x, backward[0], forward[0])
    feat = parts("conv_first", first_features, x, *aligned)
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

        y = parts(f"{name} reshape", stage.reshape, inputs)
        g1 = parts(f"{name} mutual+self attention", stage.residual_group1, y)
        y = stage._channels_residual(stage.linear1, g1, y)
        g2 = parts(f"{name} self attention", stage.residual_group2, y)
        y = stage._channels_residual(stage.linear2, g2, y).swapaxes(1, 2)
        warping = warping_with(stage.pa_deform, len(flows_b))
        pair = parts(f"{name} parallel warping", warping, y, *flows_b, *flows_f)
        fused = ops.cat((y, *pair), axis=2).transpose(0, 1, 3, 4, 2)
        inputs = parts(f"{name} fusion", stage.pa_fuse, fused).transpose(0, 4, 1, 2, 3)
        outputs.append(inputs)
    h = inputs + outputs[0]
    for i, layer in enumerate(net.stage8):
        h = parts(f"stage8 block {i}", layer, h)
    parts("reconstruction", net._upscaled, feat)
    return dict(parts.times)


def kind_of(label: str) -> str:
    """The part's kind, across stages: "parallel warping", "self attention", "stage8 blocks", ..."""
    if "block" in label:
        return "stage8 blocks"
    return label.split(" ", 1)[1] if label.startswith("stage") else label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="reds_6f", help="a preset, or a YAML architecture (random weights)")
    parser.add_argument("--shape", nargs=5, type=int, default=[1, 6, 3, 64, 64], metavar=("N", "D", "C", "H", "W"))
    parser.add_argument("--repeats", type=int, default=2, help="passes; the last is printed (default 2)")
    parser.add_argument("--graph", action="store_true", help="compile each part on its own (mindspore.jit)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")

    import mindspore as ms

    from vrt_engine import build_model
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"))  # as the engine runs: blocking eager launch (bench/eager_launch.py)
    try:
        arch = yaml.safe_load(Path(args.model).read_text()) if args.model.endswith((".yaml", ".yml")) else args.model
        net = build_model(arch)
    except (OSError, yaml.YAMLError, ValueError) as error:  # a bad preset or file: one line, not a traceback
        parser.error(f"--model {args.model}: {error}")
    net.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).random(args.shape, dtype=np.float32))
    parts = Parts(args.graph)
    for _ in range(args.repeats):
        times = one_pass(net, x, parts)
    total = sum(times.values())
    print(f"{args.model} {'graph' if args.graph else 'eager'}, input {tuple(args.shape)}, CPU: {total:.1f} s in all")
    groups: dict[str, float] = {}
    for label, seconds in times.items():
        print(f"{label:34} {seconds:7.2f} s {100 * seconds / total:5.1f}%")
        groups[kind_of(label)] = groups.get(kind_of(label), 0.0) + seconds
    print("\nby kind of part:")
    for kind, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"{kind:34} {seconds:7.2f} s {100 * seconds / total:5.1f}%")


if __name__ == "__main__":
    main()
