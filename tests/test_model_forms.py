"""The accelerator form of the network (plain Conv2D/Conv3D, ops.deformable_conv2d, transposes) against
the CPU form (im2col, grid_sample per kernel position, row gathers): the same parameters give the same
outputs and the same gradients, on the micro model and on layers of reds_6f's widths and windows."""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from alignment_case import DATA as ALIGN_DATA  # noqa: E402
from alignment_case import run_stored_case, stored_case_cell  # noqa: E402
from conftest import MICRO_ARCH  # noqa: E402

from vrt_engine.model import ACCELERATOR_FORM, CPU_FORM, PRESETS, build_model, set_form  # noqa: E402
from vrt_engine.model.alignment import FlowGuidedDeformConv  # noqa: E402
from vrt_engine.model.attention import TMSAG  # noqa: E402
from vrt_engine.model.layers import FrameConv3d  # noqa: E402

# float32 parity bounds between the two forms (both are float32 sums in different orders)
RMSE_BOUND, MAX_BOUND = 1e-6, 1e-5


def _randomise_offsets(net, seed: int = 0) -> None:
    """The offset branch's last layer starts at zero: give every offset/mask weight random values so the
    deformable convolution samples off the flow and the masks vary."""
    rng = np.random.default_rng(seed)
    for name, p in net.parameters_and_names():
        if "conv_offset" in name:
            p.set_data(ms.Tensor((rng.standard_normal(p.shape) * 0.05).astype(np.float32)))


def _both_forms(cell, *inputs) -> tuple[np.ndarray, np.ndarray]:
    set_form(cell, CPU_FORM)
    cpu = cell(*inputs)
    set_form(cell, ACCELERATOR_FORM)
    accel = cell(*inputs)
    set_form(cell, CPU_FORM)
    return cpu.asnumpy(), accel.asnumpy()


def _assert_close(a: np.ndarray, b: np.ndarray, rmse: float = RMSE_BOUND, max_abs: float = MAX_BOUND) -> None:
    err = a - b
    got = (float(np.sqrt(np.mean(err**2))), float(np.abs(err).max()))
    assert got[0] <= rmse and got[1] <= max_abs, f"RMSE {got[0]:.2e}, max |err| {got[1]:.2e}"


def test_build_model_picks_the_form_of_the_device_and_refuses_unknown_forms():
    assert build_model(MICRO_ARCH).form == CPU_FORM  # the tests run on the CPU
    net = build_model(MICRO_ARCH, form=ACCELERATOR_FORM)
    assert net.form == ACCELERATOR_FORM and net.conv_first.accel and net.stage1.pa_deform.accel
    with pytest.raises(ValueError, match="model form"):
        build_model(MICRO_ARCH, form="tpu")


@pytest.mark.parametrize("shape", [(1, 4, 3, 64, 64), (1, 3, 3, 64, 72)])
def test_accelerator_form_equals_cpu_form_on_the_micro_model(shape):
    """(1, 3, 3, 64, 72) pads frames and width to window multiples: the reference's pad/roll path."""
    net = build_model(MICRO_ARCH)
    _randomise_offsets(net)
    x = ms.Tensor(np.random.default_rng(7).random(shape, dtype=np.float32))
    cpu, accel = _both_forms(net, x)
    assert cpu.shape == (shape[0], shape[1], 3, 4 * shape[3], 4 * shape[4])
    _assert_close(cpu, accel)


def test_accelerator_form_alignment_matches_the_reference_output():
    """pa_frames 6 with 4 deformable groups: ops.deformable_conv2d with 3 convolution groups, one
    deformable group straddling two neighbours (tests/test_alignment_parity.py has the CPU form)."""
    ref = np.load(ALIGN_DATA)
    cell = stored_case_cell(ref)
    set_form(cell, ACCELERATOR_FORM)
    out = run_stored_case(cell, ref)
    _assert_close(out, ref["out"], 1e-5, 1e-4)


def test_forms_agree_on_layers_of_reds_6f_widths_and_windows():
    """reds_6f's parts at its width (120), heads (6), groups (12) and windows ((2,8,8) mutual, (6,8,8)),
    on 16x16 frames so the whole model need not run: attention groups with shifted and padded windows,
    the flow-guided deformable convolution and a frame convolution."""
    cfg = PRESETS["reds_6f"]
    dim, heads = cfg["embed_dims"][0], cfg["num_heads"][0]
    rng = np.random.default_rng(3)
    x = ms.Tensor(rng.standard_normal((1, dim, 6, 16, 16)).astype(np.float32))
    for window, mutual in (((2, 8, 8), True), (tuple(cfg["window_size"]), False)):
        group = TMSAG(dim, 2, heads, window, mutual, 2.0, True, [0.0, 0.0])
        group.set_train(False)
        _assert_close(*_both_forms(group, x), 1e-5, 1e-4)
    deform = FlowGuidedDeformConv(dim, cfg["deformable_groups"], 10.0, cfg["pa_frames"])
    _randomise_offsets(deform, 1)
    feats = [ms.Tensor(rng.random((2, dim, 16, 16), dtype=np.float32)) for _ in range(3)]
    flow = ms.Tensor((rng.standard_normal((2, 2, 16, 16)) * 2).astype(np.float32))
    _assert_close(*_both_forms(deform, feats[0], [feats[1]], feats[2], [flow]), 1e-5, 1e-4)
    conv = FrameConv3d(27, dim)
    _assert_close(*_both_forms(conv, ms.Tensor(rng.random((1, 27, 2, 16, 16), dtype=np.float32))), 1e-5, 1e-4)


def test_accelerator_form_gradients_equal_cpu_form_gradients_on_the_micro_model():
    """What vrt-trainer trains with on GPU/Ascend: every parameter's gradient of a training loss matches."""
    net = build_model(MICRO_ARCH | {"drop_path_rate": 0.0})
    _randomise_offsets(net, 2)
    net.set_train(True)
    rng = np.random.default_rng(5)
    x = ms.Tensor(rng.random((1, 2, 3, 64, 64), dtype=np.float32))
    target = ms.Tensor(rng.random((1, 2, 3, 256, 256), dtype=np.float32))
    params = net.trainable_params()

    def loss_fn(lq, gt):
        return ((net(lq) - gt) ** 2).mean()

    grads = {}
    for form in (CPU_FORM, ACCELERATOR_FORM):
        set_form(net, form)
        grads[form] = [g.asnumpy() for g in ms.grad(loss_fn, None, params)(x, target)]
    scale = max(float(np.abs(g).max()) for g in grads[CPU_FORM])
    assert scale > 0
    for p, a, b in zip(params, grads[CPU_FORM], grads[ACCELERATOR_FORM]):
        assert np.abs(a - b).max() <= 1e-4 * scale + 1e-7, f"{p.name}: max |diff| {np.abs(a - b).max():.2e}"
    assert any(np.abs(g).max() > 0 for p, g in zip(params, grads[ACCELERATOR_FORM]) if "conv_offset" in p.name)
