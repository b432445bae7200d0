"""vrt-trainer: prepare-reds | make-lmdb | make-synthetic | train | eval.

Every failure the user can cause prints one line naming the file or key and exits non-zero;
--debug shows the traceback instead (the pattern of vrt_engine.cli_common.run_guarded).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vrt_engine.cli_common import EXIT_FAILED, run_guarded


def _prepare_reds(args: argparse.Namespace) -> int:
    from .tools import prepare_reds

    prepare_reds(args.root)
    return 0


def _make_lmdb(args: argparse.Namespace) -> int:
    from .data.lmdb_store import write_lmdb

    n = write_lmdb(args.src, args.dst, workers=args.workers, compress_level=args.compress_level,
                   progress=not args.quiet)
    print(f"{args.src} -> {args.dst}: {n} frames")
    return 0


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size {text}: expected WIDTHxHEIGHT, e.g. 256x256") from None
    return w, h


def _make_synthetic(args: argparse.Namespace) -> int:
    from .data.synthetic import SyntheticSpec, make_synthetic

    w, h = _parse_size(args.size)
    holdout = tuple(v for v in args.holdout.split(",") if v) if args.holdout is not None else None
    spec = SyntheticSpec(args.clips, args.frames, w, h, seed=args.seed,
                         **({"holdout": holdout} if holdout is not None else {}))
    manifest = make_synthetic(args.dst, spec)
    print(f"{args.dst}: {len(manifest['train'])} training clip(s), {len(manifest['val'])} held-out clip(s) "
          f"({', '.join(manifest['holdout']) or 'none'}) of {args.frames} frames at {w}x{h}")
    return 0


def _data_ok(cfg, recipe: str, training: bool) -> bool:
    """Check the recipe's data before any step; print each problem as one line."""
    from vrt_engine.model import config_from

    from .data.check import data_problems

    scale = config_from(cfg.model.preset if cfg.model.preset else cfg.model.arch).upscale
    problems = data_problems(cfg, scale, recipe, training=training)
    for problem in problems:
        print(f"vrt-trainer: error: {problem}", file=sys.stderr)
    return not problems


def _train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .run import train

    cfg = load_config(args.config, args.set or [])
    if not _data_ok(cfg, args.config, training=True):
        return EXIT_FAILED
    train(cfg, args.resume)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .config import load_config
    from .run import evaluate

    cfg = load_config(args.config, args.set or [])
    if not _data_ok(cfg, args.config, training=False):
        return EXIT_FAILED
    result = evaluate(cfg, args.checkpoint)
    for key, value in result.items():
        print(f"{key} {value:.4f}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vrt-trainer", description="Train VRT x4 video super-resolution (MindSpore).")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, body) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.add_argument("--debug", action="store_true", help="show tracebacks")
        sp.set_defaults(body=body)
        return sp

    sp = add("prepare-reds", "regroup REDS val clips into train (240+), link REDS4, write meta info", _prepare_reds)
    sp.add_argument("root", help="the REDS folder (train_sharp, val_sharp, train_sharp_bicubic/X4, ...)")

    sp = add("make-lmdb", "PNG folder tree -> LMDB with meta_info.txt (BasicSR/KAIR layout)", _make_lmdb)
    sp.add_argument("src")
    sp.add_argument("dst", help="output folder, ending in .lmdb")
    sp.add_argument("--workers", type=int, default=0, help="encoding processes (default: all cores)")
    sp.add_argument("--compress-level", type=int, default=1, help="PNG compression level (BasicSR: 1)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")

    sp = add("make-synthetic", "a mini-REDS from scikit-image's photographs with synthetic camera motion",
             _make_synthetic)
    sp.add_argument("dst")
    sp.add_argument("--clips", type=int, default=4)
    sp.add_argument("--frames", type=int, default=6)
    sp.add_argument("--size", default="256x256", help="GT frame size WxH (multiples of 4)")
    sp.add_argument("--holdout", default=None, help="comma-separated photographs never trained on (default: coffee)")
    sp.add_argument("--seed", type=int, default=0)

    for name, help_text, body in (("train", "train (or resume) a recipe", _train),
                                  ("eval", "validation alone with a checkpoint", _eval)):
        sp = add(name, help_text, body)
        sp.add_argument("--config", required=True, help="recipe YAML (trainer/configs/*.yaml)")
        sp.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override a recipe value")
        if name == "train":
            sp.add_argument("--resume", default=None, help="'auto' (newest checkpoint of the run) or a .ckpt path")
        else:
            sp.add_argument("--checkpoint", required=True, help="a checkpoint (training or model) or .pth")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of vrt-trainer."""
    args = parser().parse_args(argv)
    return run_guarded("vrt-trainer", args.body, args)


if __name__ == "__main__":
    sys.exit(main())
