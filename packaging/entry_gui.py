"""PyInstaller entry of the vrt-upscaler executable (the desktop app); the same as the installed gui-script."""

import multiprocessing
import sys

from app.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # model worker processes start this executable again
    sys.exit(main())
