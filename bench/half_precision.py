"""Error of each half-precision part choice against float32, measured on the CPU.

    python bench/half_precision.py                       # micro model, 1x2x3x64x64, every choice
    python bench/half_precision.py --model tiny --frames 6 --choices budget
    python bench/half_precision.py --stages --weights seeded --spread 1.732   # where the error grows

MindSpore 2.10's CPU runs MatMul, BatchMatMul, convolutions, deformable convolution, grid_sample and
softmax in float16, but has no float16 LayerNorm: every choice keeps the layer norms in float32 (on the
CPU that part is not measurable). The model is the accelerator form (what runs in float16 on a GPU or an
Ascend card) with random weights from seed 0; the input is random in [0, 1] from seed 1, eager mode.
Prints, per choice, the parts kept in float32 and RMSE / max abs error of the output against float32.
`--weights seeded` takes bench/parity.py's seeded weights (times `--spread`) instead; `--stages` prints,
for the budget, the error of each stage's output relative to its size: how rounding grows through the
network.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from parity import MICRO, seeded_weights  # noqa: E402  (bench/ is no package)

CHOICES = {
    "all_float16": ("layer_norm",),
    "softmax": ("layer_norm", "softmax"),
    "flow": ("layer_norm", "flow"),
    "alignment": ("layer_norm", "alignment"),
    "budget": None,  # precision.FLOAT32_PARTS
}


def fresh_model(arch, weights: str, spread: float, seed: int = 0):
    """The accelerator form with MindSpore's initialisers from `seed`, or bench/parity.py's seeded weights."""
    import mindspore as ms

    from vrt_engine.model import ACCELERATOR_FORM, build_model

    ms.set_seed(seed)
    net = build_model(arch, form=ACCELERATOR_FORM)
    if weights == "seeded":
        seeded_weights(net, seed, spread)
    return net


def half_errors(arch, x: np.ndarray, choices: dict, precision: str = "float16", weights: str = "init",
                spread: float = 1.0) -> dict:  # fmt: skip
    """{choice: RMSE, max abs error, seconds} of `arch` in `precision` with each choice's float32 parts
    against float32; the same weights for all, float32 run once."""
    import mindspore as ms

    from vrt_engine.model.precision import set_precision

    ref = fresh_model(arch, weights, spread)(ms.Tensor(x)).asnumpy()
    results = {}
    for name, parts in choices.items():
        net = set_precision(fresh_model(arch, weights, spread), precision, parts)
        start = time.perf_counter()
        err = net(ms.Tensor(x)).astype(ms.float32).asnumpy() - ref
        seconds = time.perf_counter() - start
        results[name] = dict(rmse=float(np.sqrt(np.mean(err**2))), max_abs=float(np.abs(err).max()), seconds=seconds)
    return results


def stage_outputs(net, x: np.ndarray) -> dict:
    """{part: output as float32 array} for the body's parts, in order, from one call (forward hooks)."""
    import mindspore as ms

    parts = [("conv_first", net.conv_first)] + [(f"stage{i}", getattr(net, f"stage{i}")) for i in range(1, 8)]
    parts += [(f"stage8.{i}", cell) for i, cell in enumerate(net.stage8)] + [("norm", net.norm)]
    outputs = {}
    for name, cell in parts:
        cell.register_forward_hook(lambda _cell, _inputs, out, name=name: outputs.__setitem__(name, out))
    outputs["output"] = net(ms.Tensor(x))
    return {k: v.astype(ms.float32).asnumpy() for k, v in outputs.items()}


def stage_errors(arch, x: np.ndarray, precision: str, weights: str, spread: float) -> dict:
    """{part: (RMS of the float32 output, RMSE of `precision`'s with the budget)}."""
    from vrt_engine.model.precision import set_precision

    ref = stage_outputs(fresh_model(arch, weights, spread), x)
    half = stage_outputs(set_precision(fresh_model(arch, weights, spread), precision), x)
    return {k: (float(np.sqrt(np.mean(ref[k] ** 2))), float(np.sqrt(np.mean((half[k] - ref[k]) ** 2)))) for k in ref}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="micro", help="micro, or a preset name (tiny, reds_6f)")
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--choices", nargs="+", default=list(CHOICES), choices=list(CHOICES))
    parser.add_argument(
        "--weights",
        choices=("init", "seeded"),
        default="init",
        help="MindSpore's initialisers (seed 0) or bench/parity.py's seeded weights",
    )
    parser.add_argument("--spread", type=float, default=1.0, help="seeded weights: matrices' spread factor")
    parser.add_argument("--stages", action="store_true", help="the budget's error at each stage's output")
    args = parser.parse_args(argv)
    from vrt_engine.devices import Device, activate
    from vrt_engine.model.precision import FLOAT32_PARTS

    activate(Device("cpu"))
    arch = MICRO if args.model == "micro" else args.model
    x = np.random.default_rng(1).random((1, args.frames, 3, args.size, args.size), dtype=np.float32)
    print(
        f"{args.model} 1x{args.frames}x3x{args.size}x{args.size}, float16 vs float32 (CPU, accelerator form), "
        f"weights {args.weights}{f' x{args.spread}' if args.weights == 'seeded' else ''}"
    )
    if args.stages:
        print(f"{'part':12} {'RMS':>9} {'RMSE':>9} {'relative':>9}")
        for part, (rms, rmse) in stage_errors(arch, x, "float16", args.weights, args.spread).items():
            print(f"{part:12} {rms:9.3e} {rmse:9.2e} {rmse / rms:9.2e}")
        return 0
    print(f"{'choice':12} {'float32 parts':40} {'RMSE':>9} {'max|err|':>9} {'s':>6}")
    for name in args.choices:  # one at a time, so each line shows as it is measured
        parts = CHOICES[name] or FLOAT32_PARTS
        r = half_errors(arch, x, {name: parts}, weights=args.weights, spread=args.spread)[name]
        print(f"{name:12} {','.join(parts):40} {r['rmse']:9.2e} {r['max_abs']:9.2e} {r['seconds']:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
