"""PyInstaller entry of the vrt-upscaler executable (the desktop app); the same as the installed gui-script."""

import sys

from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
