"""Flow-guided alignment against a stored output of the reference (JingyunLiang/VRT's DCNv2PackFlowGuided).

tests/data/align_pa6_groups4.npz was made outside this project by the reference itself with
`python bench/parity.py dump-align --vrt-repo <VRT checkout> --out tests/data/align_pa6_groups4.npz`
(torch 2.14.1, torchvision 0.29.1): width 24, pa_frames 6 and 4 deformable groups, so one deformable
group straddles two neighbours' channels and its kernel positions follow two different flows.
"""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from alignment_case import DATA, run_stored_case, stored_case_cell  # noqa: E402

from vrt_engine.model import build_model  # noqa: E402

# Every part of VRT at a size that runs in seconds, aligned as the stored case: pa_frames 6, 4 groups.
PA6_GROUPS4 = dict(
    upscale=4, img_size=[4, 64, 64], window_size=[2, 8, 8], depths=[2] * 7 + [2, 2], indep_reconsts=[8],
    embed_dims=[24] * 7 + [12, 12], num_heads=[2] * 9, pa_frames=6, deformable_groups=4, num_feat=8,
    spynet_skip_levels=2,
)


def test_alignment_with_groups_across_neighbours_matches_reference_output():
    ref = np.load(DATA)
    out = run_stored_case(stored_case_cell(ref), ref)
    err = out - ref["out"]
    assert np.sqrt(np.mean(err**2)) <= 1e-5 and np.abs(err).max() <= 1e-4, (
        f"RMSE {np.sqrt(np.mean(err**2)):.2e}, max |err| {np.abs(err).max():.2e}"
    )


def test_build_model_accepts_pa6_with_groups_not_divisible_by_neighbours():
    model = build_model(PA6_GROUPS4)
    model.set_train(False)
    x = np.random.default_rng(2).random((1, 4, 3, 64, 64), dtype=np.float32)
    y = model(ms.Tensor(x)).asnumpy()
    assert y.shape == (1, 4, 3, 256, 256) and np.isfinite(y).all()


@pytest.mark.parametrize(
    "change, key",
    [
        (dict(pa_frames=4, deformable_groups=3), "deformable_groups"),  # 54 offsets: no two even halves
        (dict(deformable_groups=5), "deformable_groups"),  # 72 aligned channels over 5 groups
        (dict(embed_dims=[8] * 7 + [12, 12]), "embed_dims"),  # 8 channels over 3 neighbours
    ],
)
def test_architectures_the_reference_cannot_run_are_refused(change, key):
    with pytest.raises(ValueError, match=key):
        build_model(PA6_GROUPS4 | change)
