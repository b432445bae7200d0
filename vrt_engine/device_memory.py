"""Memory planning on a GPU or an Ascend card: the budget from the device's free memory, per-form and
per-precision constants, and a correction from the real peak measured on the first chunk.

The constants below are first guesses scaled from the CPU figures (runner.py), NOT measurements on a
device: bench/device_check.py measures the peaks that should replace them. The correction makes a job
safe meanwhile: after its first chunk the plan is rescaled by measured / predicted peak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# bytes per pixel-frame per unit of width, and fixed bytes (weights, workspace), by (form, precision)
DEVICE_CONSTANTS = {
    ("accelerator", "float32"): (1400.0, 600_000_000),
    ("accelerator", "float16"): (800.0, 400_000_000),
    ("accelerator", "bfloat16"): (800.0, 400_000_000),
}
USABLE_FRACTION = 0.85  # of the free memory: allocator fragmentation and other processes


def query_device_memory(index: int = 0) -> tuple[int, int]:
    """(total, free) bytes of the device MindSpore is set to, from MindSpore's device properties."""
    from mindspore import hal

    props = hal.get_device_properties(index)
    total = int(getattr(props, "total_memory", 0))
    free = int(getattr(props, "free_memory", total))
    return total, free


def device_peak_bytes() -> int:
    """The peak device memory MindSpore's allocator has seen in this process."""
    import mindspore as ms

    return int(ms.runtime.max_memory_allocated())


@dataclass
class DevicePlan:
    """Budget and per-pixel-frame cost for the tile planner, corrected once from a measured peak."""

    budget: int
    bytes_per_pixel_frame: float
    fixed_bytes: int
    corrected: bool = False

    def predicted_peak(self, pixel_frames: int) -> float:
        return self.fixed_bytes + self.bytes_per_pixel_frame * pixel_frames

    def correct(self, pixel_frames: int, measured_peak: int) -> float:
        """Rescale the per-pixel-frame cost so the first chunk's prediction equals its measured peak."""
        if self.corrected or pixel_frames <= 0 or measured_peak <= 0:
            return 1.0
        ratio = max(measured_peak - self.fixed_bytes, 1) / max(self.predicted_peak(pixel_frames) - self.fixed_bytes, 1)
        self.bytes_per_pixel_frame *= ratio
        self.corrected = True
        return ratio


def plan_for_device(
    width: int, form: str, precision: str, query: Callable[[], tuple[int, int]] = query_device_memory
) -> DevicePlan:
    """The plan for a model of this width on the current device; `query` gives (total, free) bytes."""
    per_width, fixed = DEVICE_CONSTANTS[(form, precision)]
    _total, free = query()
    budget = int(free * USABLE_FRACTION) - fixed
    return DevicePlan(max(budget, 1), per_width * width, fixed)
