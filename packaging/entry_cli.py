"""PyInstaller entry of the vrt-upscale executable (the command line); the same as the installed script."""

import multiprocessing
import sys

from vrt_engine.cli_upscale import upscale_main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # model worker processes start this executable again
    sys.exit(upscale_main())
