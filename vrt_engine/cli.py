"""`python -m vrt_engine.cli convert|upscale|eval ...`: one entry for the three commands.

Only this module imports the command modules; they share vrt_engine.cli_common.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .cli_common import EXIT_USAGE
from .cli_convert import convert_main
from .cli_eval import eval_main
from .cli_upscale import upscale_main

COMMANDS = {"convert": convert_main, "upscale": upscale_main, "eval": eval_main}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m vrt_engine.cli {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return EXIT_USAGE
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
