"""Error of each half-precision part choice against float32, measured on the CPU.

    python bench/half_precision.py                       # micro model, 1x2x3x64x64, every choice
    python bench/half_precision.py --model tiny --frames 6 --choices budget

MindSpore 2.10's CPU runs MatMul, BatchMatMul, convolutions, deformable convolution, grid_sample and
softmax in float16, but has no float16 LayerNorm: every choice keeps the layer norms in float32 (on the
CPU that part is not measurable). The model is the accelerator form (what runs in float16 on a GPU or an
Ascend card) with random weights from seed 0; the input is random in [0, 1] from seed 1, eager mode.
Prints, per choice, the parts kept in float32 and RMSE / max abs error of the output against float32.
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
from parity import MICRO  # noqa: E402  (bench/ is no package)

CHOICES = {
    "all_float16": ("layer_norm",),
    "softmax": ("layer_norm", "softmax"),
    "flow": ("layer_norm", "flow"),
    "alignment": ("layer_norm", "alignment"),
    "budget": None,  # precision.FLOAT32_PARTS
}


def half_errors(arch, x: np.ndarray, choices: dict, precision: str = "float16", seed: int = 0) -> dict:
    """{choice: RMSE, max abs error, seconds} of `arch` in `precision` with each choice's float32 parts
    against float32; the same weights (MindSpore's seed) for all, float32 run once."""
    import mindspore as ms

    from vrt_engine.model import ACCELERATOR_FORM, build_model
    from vrt_engine.model.precision import set_precision

    def fresh():
        ms.set_seed(seed)
        return build_model(arch, form=ACCELERATOR_FORM)

    ref = fresh()(ms.Tensor(x)).asnumpy()
    results = {}
    for name, parts in choices.items():
        net = set_precision(fresh(), precision, parts)
        start = time.perf_counter()
        err = net(ms.Tensor(x)).astype(ms.float32).asnumpy() - ref
        seconds = time.perf_counter() - start
        results[name] = dict(rmse=float(np.sqrt(np.mean(err**2))), max_abs=float(np.abs(err).max()), seconds=seconds)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="micro", help="micro, or a preset name (tiny, reds_6f)")
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--choices", nargs="+", default=list(CHOICES), choices=list(CHOICES))
    args = parser.parse_args(argv)
    from vrt_engine.devices import Device, activate
    from vrt_engine.model.precision import FLOAT32_PARTS

    activate(Device("cpu"))
    arch = MICRO if args.model == "micro" else args.model
    x = np.random.default_rng(1).random((1, args.frames, 3, args.size, args.size), dtype=np.float32)
    print(f"{args.model} 1x{args.frames}x3x{args.size}x{args.size}, float16 vs float32 (CPU, accelerator form)")
    print(f"{'choice':12} {'float32 parts':40} {'RMSE':>9} {'max|err|':>9} {'s':>6}")
    for name in args.choices:  # one at a time, so each line shows as it is measured
        parts = CHOICES[name] or FLOAT32_PARTS
        r = half_errors(arch, x, {name: parts})[name]
        print(f"{name:12} {','.join(parts):40} {r['rmse']:9.2e} {r['max_abs']:9.2e} {r['seconds']:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
