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

MICRO = dict(
    upscale=4, img_size=[2, 64, 64], window_size=[2, 8, 8], depths=[2] * 7 + [2, 2], indep_reconsts=[8],
    embed_dims=[8] * 7 + [12, 12], num_heads=[2] * 9, pa_frames=2, deformable_groups=2, num_feat=8,
    spynet_skip_levels=2,
)  # fmt: skip
CHOICES = {
    "all_float16": ("layer_norm",),
    "softmax": ("layer_norm", "softmax"),
    "flow": ("layer_norm", "flow"),
    "alignment": ("layer_norm", "alignment"),
    "output": ("layer_norm", "output"),
    "budget": None,  # precision.FLOAT32_PARTS
}


def half_error(arch, x: np.ndarray, float32_parts, precision: str = "float16", seed: int = 0) -> dict:
    """RMSE and max abs error of `arch` in `precision` with `float32_parts` against float32, same weights."""
    import mindspore as ms

    from vrt_engine.model import ACCELERATOR_FORM, build_model
    from vrt_engine.model.precision import set_precision

    ms.set_seed(seed)
    net = build_model(arch, form=ACCELERATOR_FORM)
    ref = net(ms.Tensor(x)).asnumpy()
    set_precision(net, precision, float32_parts)
    start = time.perf_counter()
    y = net(ms.Tensor(x)).astype(ms.float32).asnumpy()
    err = y - ref
    return dict(rmse=float(np.sqrt(np.mean(err**2))), max_abs=float(np.abs(err).max()), seconds=time.perf_counter() - start)


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
    for name in args.choices:
        parts = CHOICES[name] or FLOAT32_PARTS
        r = half_error(arch, x, parts)
        print(f"{name:12} {','.join(parts):40} {r['rmse']:9.2e} {r['max_abs']:9.2e} {r['seconds']:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
