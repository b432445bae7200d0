"""What every command line of ours shares: exit codes, one-line errors, architecture files.

Every failure the user can cause prints one line naming the file or option and exits non-zero;
--debug shows the traceback instead. The command modules (cli_convert, cli_upscale, cli_eval and
trainer.cli) import this one and nothing imports them but cli.py, so there is no import cycle.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

EXIT_USAGE = 2
EXIT_FAILED = 1


def load_arch_file(path: str) -> dict:
    """An architecture mapping from a YAML (or JSON) file of reference constructor arguments."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of architecture arguments")
    return data


def run_guarded(prog: str, body: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command body, turning expected failures into one line on stderr."""
    from .weights import WeightsError

    expected: tuple[type[BaseException], ...] = (WeightsError, ValueError, OSError)
    try:
        from .video import VideoError

        expected += (VideoError,)
    except ImportError:
        pass
    try:
        return body(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except expected as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_FAILED


def add_cache_options(p: argparse.ArgumentParser) -> None:
    """--cache-dir and --no-cache, with one meaning in every command that runs a model."""
    p.add_argument("--cache-dir", help="folder for compiled graphs and timings (default ~/.cache/vrt-upscaler)")
    p.add_argument("--no-cache", action="store_true", help="compile the model without the graph cache")


def apply_cache_options(args: argparse.Namespace) -> None:
    """Set the cache for this process and the model workers it starts (before any model is loaded)."""
    from . import graph_cache

    graph_cache.configure(args.cache_dir, False if args.no_cache else None)
