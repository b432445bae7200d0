"""Which devices MindSpore can use on this machine, and choosing one.

Names are "cpu", "gpu:N" and "ascend:N"; "auto" picks the first accelerator, else the CPU.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from functools import lru_cache

TARGETS = {"cpu": "CPU", "gpu": "GPU", "ascend": "Ascend"}


@dataclass(frozen=True)
class Device:
    """A MindSpore device target and id, with the precision it runs best in."""

    kind: str  # cpu | gpu | ascend
    index: int = 0

    @property
    def name(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    @property
    def target(self) -> str:
        return TARGETS[self.kind]

    @property
    def half_precision(self) -> bool:
        """float16 where the hardware is built for it (GPU, Ascend); float32 on CPU."""
        return self.kind != "cpu"


@contextlib.contextmanager
def _quiet_native_output():
    """Silence C-level stdout/stderr: MindSpore prints library-loading noise when a backend is absent."""
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _count(target: str) -> int:
    from mindspore import hal

    with _quiet_native_output():
        try:
            return hal.device_count(target) if hal.is_available(target) else 0
        except Exception:  # a backend that is installed but broken counts as absent
            return 0


@lru_cache(maxsize=1)
def available_devices() -> tuple[Device, ...]:
    """Devices usable here, accelerators first; the CPU is always there."""
    found: list[Device] = []
    for kind in ("gpu", "ascend"):
        found += [Device(kind, i) for i in range(_count(TARGETS[kind]))]
    found.append(Device("cpu"))
    return tuple(found)


def device_notices() -> list[str]:
    """One line for each accelerator here that MindSpore cannot use (empty when all is well)."""
    from .device_diagnosis import accelerator_notices

    return accelerator_notices({d.kind for d in available_devices() if d.kind != "cpu"})


def device_listing() -> list[str]:
    """Lines for --list-devices and the app: the usable devices, then what is present but unusable."""
    return [d.name for d in available_devices()] + device_notices()


def parse_device(name: str) -> Device:
    """A Device from "auto", "cpu", "gpu", "gpu:1", "ascend:0"...; ValueError naming the choices."""
    text = (name or "auto").strip().lower()
    devices = available_devices()
    if text == "auto":
        return devices[0]
    kind, _, index = text.partition(":")
    if kind not in TARGETS or (index and not index.isdigit()):
        raise ValueError(f"--device: unknown device '{name}' (use auto, cpu, gpu[:N] or ascend[:N])")
    wanted = Device(kind, int(index or 0))
    if wanted not in devices:
        have = ", ".join(d.name for d in devices)
        raise ValueError(f"--device: {wanted.name} is not available here (available: {have})")
    return wanted


def pin_to_core(core: int) -> None:
    """Run this process, all its threads, on one core (Linux; elsewhere nothing happens).

    Why: several MindSpore processes sharing a CPU (model workers, msrun's training workers) each
    size their thread pool to all cores and then fight over them; one core each is faster. Call it
    before :func:`activate`, which sizes MindSpore's pool to the cores the process may use.
    """
    if not hasattr(os, "sched_setaffinity"):
        return
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread may end meanwhile
            os.sched_setaffinity(tid, {core})


def activate(device: Device, blocking_launch: bool = True) -> None:
    """Make MindSpore run on this device (process-wide); `blocking_launch=False` keeps MindSpore's
    asynchronous CPU launch (only bench/eager_launch.py wants it, to compare)."""
    import mindspore as ms

    if device.kind == "cpu":
        ms.set_device("CPU")
    else:
        ms.set_device(device.target, device.index)
    # Threads: use the cores we have (MindSpore's default pool may oversubscribe small machines).
    if device.kind == "cpu":
        ms.set_context(runtime_num_threads=max(1, len(os.sched_getaffinity(0))))
        # Eager (PyNative) kernels launched from the calling thread: on a CPU the asynchronous launch
        # pipeline's threads compete with the kernels for the same cores (2 cores: a micro VRT training
        # step 4x and tiny's eager forward 2x faster blocking; bench/eager_launch.py). Graph mode is not
        # affected, and accelerators keep their asynchronous launch.
        if blocking_launch:
            ms.runtime.launch_blocking()
