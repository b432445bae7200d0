"""Peak host memory of a graph-mode training run before and after the frozen-to-full phase switch.

    python bench/train_phase_memory.py [--config trainer/configs/tiny_cpu.yaml] [--full-size]
                                       [--iterations 4] [--fix-iter 2] [--data DIR] [--set KEY=VALUE ...]

Why: the switch (train.fix_iter) compiles a second training graph (all parameters) next to the first
(fix_keys frozen); the tiny_cpu recipe once went past 13 GB there and was killed. This trains a recipe
for a few iterations in this process with the trainer's own TrainStep and prints, after every
iteration, the process's resident set now and its peak so far (getrusage), then the peak before and
after the switch. By default the recipe is shrunk to the tests' micro VRT on generated clips (minutes,
about 4 GB); --full-size keeps the recipe's model and crop size. Not a timed test: one run, numbers only.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def _micro_overrides() -> list[str]:
    """The tests' micro VRT and the crop and batch its recipe trains with."""
    sys.path.insert(0, str(ROOT / "tests"))
    from trainer_fixtures import MICRO_ARCH

    return ["model.preset=null", f"model.arch={json.dumps(MICRO_ARCH)}", "data.train.gt_size=160",
            "data.train.batch_size=1", "data.train.num_frame=2"]


def _rss_mb() -> float:
    """Resident set of this process now (MB), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """Peak resident set of this process so far (MB); Linux reports ru_maxrss in KB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    from trainer.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="trainer/configs/tiny_cpu.yaml")
    ap.add_argument("--full-size", action="store_true", help="keep the recipe's model, crop and batch")
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--fix-iter", type=int, default=2,
                    help="first iteration that trains every parameter (0 or 1: no frozen phase, for comparison)")
    ap.add_argument("--data", help="an existing mini-REDS (after prepare-reds)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more recipe overrides")
    args = ap.parse_args()
    if args.fix_iter > args.iterations:
        ap.error("--fix-iter must be at most --iterations, or there is no switch to measure")

    sets = [] if args.full_size else _micro_overrides()
    recipe = load_config(ROOT / args.config, [*sets, *args.set])
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="train_phase_memory_")) / "data"
    if not args.data:
        size = max(160, recipe.data.train.gt_size)
        subprocess.run([str(BIN / "vrt-trainer"), "make-synthetic", str(data), "--clips", "2", "--frames",
                        str(max(2, recipe.data.train.num_frame)), "--size", f"{size}x{size}"], check=True,
                       cwd=ROOT, capture_output=True)
        subprocess.run([str(BIN / "vrt-trainer"), "prepare-reds", str(data)], check=True, cwd=ROOT,
                       capture_output=True)
    sets += [f"train.iterations={args.iterations}", f"train.periods={args.iterations}",
             f"train.fix_iter={args.fix_iter}", "train.graph=true", "train.device=cpu", "model.spynet_path=null",
             "model.pretrained=null", f"data.train.dataroot_gt={data}/train_sharp",
             f"data.train.dataroot_lq={data}/train_sharp_bicubic/X4", "data.train.io_backend=disk",
             "data.train.meta_info_file=null", *args.set]
    cfg = load_config(ROOT / args.config, sets)

    import mindspore as ms

    from trainer import schedule
    from trainer.data.train_clips import TrainClips
    from trainer.loop import TrainStep, to_tensor
    from trainer.run import _arch, build_model

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    ms.set_seed(cfg.train.seed)
    model = build_model(cfg, lambda message: None)
    model.set_train(True)
    step = TrainStep(model, cfg)
    batch = cfg.data.train.batch_size
    clips = TrainClips(cfg.data.train, _arch(cfg)["upscale"], cfg.train.seed, args.iterations * batch)
    print(f"{args.config}{'' if args.full_size else ' (micro VRT)'}: {args.iterations} iterations, batch {batch}, "
          f"fix_iter {args.fix_iter}, graph mode; RSS before the first step {_rss_mb():.0f} MB", flush=True)
    print(f"{'iter':>4} {'phase':>6} {'seconds':>8} {'RSS MB':>8} {'peak MB':>8}")
    peak_frozen = 0.0
    for iteration in range(1, args.iterations + 1):
        samples = [clips[(iteration - 1) * batch + j] for j in range(batch)]
        lq, gt = (to_tensor(np.stack([s[k] for s in samples])) for k in (0, 1))
        frozen = schedule.is_frozen(iteration, cfg.train)
        step.set_lrs(*schedule.group_lrs(iteration, cfg.train))
        start = time.perf_counter()
        step(lq, gt, frozen)
        seconds = time.perf_counter() - start
        if frozen:
            peak_frozen = _peak_mb()
        print(f"{iteration:4d} {'frozen' if frozen else 'all':>6} {seconds:8.1f} {_rss_mb():8.0f} {_peak_mb():8.0f}",
              flush=True)
    if peak_frozen:
        print(f"peak RSS before the switch {peak_frozen:.0f} MB, after it {_peak_mb():.0f} MB "
              f"(+{_peak_mb() - peak_frozen:.0f} MB); RSS at the end {_rss_mb():.0f} MB")
    else:
        print(f"no frozen phase: peak RSS {_peak_mb():.0f} MB (the full step alone); RSS at the end {_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
