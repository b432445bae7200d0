"""Why an accelerator that is physically here cannot be used by MindSpore, in one line each.

A machine may have an NVIDIA GPU (its driver shows in /proc/driver/nvidia or nvidia-smi is on PATH) while
MindSpore cannot open it: the CPU build of MindSpore is installed, or the GPU build cannot load the CUDA
runtime or cuDNN it was built against, or the driver is too old for that CUDA. 'auto' then runs on the
CPU; these lines say so, and what to install, instead of falling back silently.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

NVIDIA_DRIVER_FILE = Path("/proc/driver/nvidia/version")
ASCEND_DRIVER_DIR = Path("/usr/local/Ascend/driver")


def nvidia_gpu_present() -> bool:
    """An NVIDIA driver is loaded or its tool is installed (whether or not MindSpore can use the card)."""
    return NVIDIA_DRIVER_FILE.exists() or shutil.which("nvidia-smi") is not None


def ascend_present() -> bool:
    return ASCEND_DRIVER_DIR.is_dir() or shutil.which("npu-smi") is not None


def _plugin_names() -> set[str]:
    import mindspore

    plugins = Path(mindspore.__file__).parent / "lib" / "plugin"
    return {p.name.lower() for p in plugins.iterdir()} if plugins.is_dir() else set()


def cuda_versions(names: set[str]) -> list[str]:
    """CUDA versions MindSpore's GPU plugins here were built for, newest first (folders 'gpu11.6', ...)."""
    found = {n[3:] for n in names if n.startswith("gpu") and n[3:].replace(".", "").isdigit()}
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")), reverse=True)


def accelerator_notices(usable_kinds: set[str]) -> list[str]:
    """One line per accelerator present here that MindSpore cannot use (usable_kinds: 'gpu', 'ascend')."""
    notices = []
    names = _plugin_names()
    cuda = cuda_versions(names)
    if nvidia_gpu_present() and "gpu" not in usable_kinds:
        if not cuda:
            notices.append(
                "GPU found but MindSpore cannot use it: this MindSpore is the CPU build; install MindSpore 2.10's "
                "GPU build with the CUDA runtime and cuDNN versions its installation guide names, then restart"
            )
        else:
            path = os.environ.get("LD_LIBRARY_PATH", "") or "(empty)"
            notices.append(
                "GPU found but MindSpore cannot use it: its GPU plugin needs the CUDA "
                f"{' or '.join(cuda)} runtime and cuDNN 8, which did not load (LD_LIBRARY_PATH {path}), or the "
                f"driver is too old for CUDA {cuda[0]} or the card unsupported; install CUDA {cuda[0]} with cuDNN 8 "
                "and a driver for it, and put their lib64 folders on LD_LIBRARY_PATH"
            )
    if ascend_present() and "ascend" not in usable_kinds and any("ascend" in n for n in names):
        notices.append(
            "Ascend card found but MindSpore cannot use it: install MindSpore 2.10's Ascend build and the CANN "
            "toolkit version it names, and source CANN's set_env.sh before starting"
        )
    return notices


def fallback_notice(notices: list[str]) -> str:
    """The one line 'auto' logs when it runs on the CPU although an accelerator is here."""
    return "device auto: running on the CPU (slow) because " + notices[0].split(": ", 1)[1]
