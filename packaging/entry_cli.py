"""PyInstaller entry of the vrt-upscale executable (the command line); the same as the installed script."""

import sys

from vrt_engine.cli_upscale import upscale_main

if __name__ == "__main__":
    sys.exit(upscale_main())
