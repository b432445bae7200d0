"""vrt-convert: import the authors' .pth weights (no torch needed), or export a training checkpoint's model."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from .cli_common import load_arch_file, run_guarded


def _convert(args: argparse.Namespace) -> int:
    from .models_dir import user_models_dir
    from .weights import convert_pth, export_checkpoint

    if args.preset and args.arch:
        raise ValueError("give either --preset or --arch, not both")
    arch = load_arch_file(args.arch) if args.arch else args.preset
    if args.install:
        if not args.preset:
            raise ValueError("--install needs --preset (the name the model is installed under)")
        out = user_models_dir() / f"{args.preset}.ckpt"
    elif args.output:
        out = Path(args.output)
    else:
        raise ValueError("give OUT.ckpt, or --install with --preset")
    if out.exists() and not args.overwrite:
        raise ValueError(f"{out}: already exists (use --overwrite)")
    if Path(args.input).suffix == ".ckpt":
        if args.arch:
            raise ValueError(f"{args.input}: our checkpoints carry their architecture; drop --arch")
        note = args.note or f"exported from {Path(args.input).name}"
        used = export_checkpoint(args.input, out, note, expect_preset=args.preset)
    else:
        used = convert_pth(args.input, out, arch)
    print(f"{args.input} -> {out} (pa_frames {used['pa_frames']}, {len(used['depths'])} stages)")
    return 0


def convert_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vrt-convert",
        description="Import the VRT authors' .pth weights (no torch needed) into a MindSpore checkpoint, "
        "or export the model of a training checkpoint.",
    )
    p.add_argument("input", help="the authors' .pth file, or one of our .ckpt files (a training checkpoint: "
                   "its weights and architecture are kept, optimiser and trainer state dropped)")
    p.add_argument("output", nargs="?", help="the .ckpt to write (not with --install)")
    p.add_argument("--preset", help="architecture preset: reds_6f or reds_16f (default: recognised from shapes)")
    p.add_argument("--arch", help="YAML file of VRT constructor arguments, for other architectures")
    p.add_argument("--install", action="store_true", help="install into the user's model folder as PRESET")
    p.add_argument("--note", help="for a .ckpt input: where the weights came from, kept in the output")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def convert_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of vrt-convert."""
    args = convert_parser().parse_args(argv)
    return run_guarded("vrt-convert", _convert, args)
