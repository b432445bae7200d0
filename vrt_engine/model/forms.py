"""The two forms of one VRT network: the CPU form and the accelerator form, same parameters.

The CPU form runs convolutions as im2col plus matrix products, the deformable convolution by grid_sample
per kernel position and window attention by row gathers, because MindSpore 2.10's CPU Conv2D, Transpose
and DeformableConv2d kernels are slow. On a GPU or an Ascend card those detours multiply memory and skip
the vendor kernels, so the accelerator form uses plain Conv2D/Conv3D, ops.deformable_conv2d (modulated)
and reshapes/transposes. Cells whose construct differs between the forms carry a bool ``accel``; the form
is a build-time choice (graph mode compiles one branch), set by :func:`set_form`.
"""

from __future__ import annotations

CPU_FORM = "cpu"
ACCELERATOR_FORM = "accelerator"
FORMS = (CPU_FORM, ACCELERATOR_FORM)


def form_for_target(target: str) -> str:
    """The form for a MindSpore device target ("CPU", "GPU", "Ascend")."""
    return CPU_FORM if target.upper() == "CPU" else ACCELERATOR_FORM


def current_form() -> str:
    """The form for the device MindSpore is set to in this process."""
    import mindspore as ms

    return form_for_target(str(ms.get_context("device_target")))


def set_form(net, form: str):
    """Switch every form-aware cell of `net` to `form` (in place; returns net). Build or compile after."""
    if form not in FORMS:
        raise ValueError(f"model form: expected one of {', '.join(FORMS)}, got '{form}'")
    accel = form == ACCELERATOR_FORM
    for _, cell in net.cells_and_names():
        if hasattr(cell, "accel"):
            cell.accel = accel
    net.form = form
    return net
