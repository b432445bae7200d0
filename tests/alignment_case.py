"""The stored reference alignment case (tests/data/align_pa6_groups4.npz), run through our cell.

Shared by the CPU-form parity test and the accelerator-form test, so both load the same parameters and
feed the same inputs."""

from __future__ import annotations

from pathlib import Path

import mindspore as ms
import numpy as np

from vrt_engine.model.alignment import FlowGuidedDeformConv

DATA = Path(__file__).parent / "data" / "align_pa6_groups4.npz"


def stored_case_cell(ref) -> FlowGuidedDeformConv:
    """The cell of the stored case (width 24, pa_frames 6, 4 groups) with the reference's parameters."""
    cell = FlowGuidedDeformConv(channels=24, deformable_groups=4, max_residue_magnitude=10.0, pa_frames=6)
    params = dict(cell.parameters_and_names())
    assert sorted(params) == sorted(k[len("param/") :] for k in ref.files if k.startswith("param/"))
    for name, p in params.items():
        p.set_data(ms.Tensor(ref[f"param/{name}"]))
    return cell


def run_stored_case(cell: FlowGuidedDeformConv, ref) -> np.ndarray:
    """The cell's output on the stored inputs (compare with ref["out"])."""
    return cell(
        ms.Tensor(ref["x"]),
        [ms.Tensor(ref[f"warped{i}"]) for i in range(3)],
        ms.Tensor(ref["current"]),
        [ms.Tensor(ref[f"flow{i}"]) for i in range(3)],
    ).asnumpy()
