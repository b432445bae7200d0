"""The CPU form's Transpose-free layouts and convolutions against the plain operations they replace."""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from vrt_engine.model.layers import (  # noqa: E402
    ChannelsToSpace,
    SpaceToChannels,
    channels_first,
    channels_last,
    conv2d_gathered,
    conv2d_rows,
    conv2d_taps,
    swap_axes12,
    transpose_last,
)


@pytest.mark.parametrize("shape", [(3, 5, 40), (3, 40, 5)])
def test_transpose_by_identity_product_is_exact(shape):
    """Both sides of transpose_last (identity on the smaller axis) give the transposed numbers exactly."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(transpose_last(ms.Tensor(x)).asnumpy(), x.transpose(0, 2, 1))


def test_channel_moves_and_axis_swap_equal_numpy_transposes():
    x = np.random.default_rng(1).standard_normal((2, 6, 3, 4, 5)).astype(np.float32)
    last = channels_last(ms.Tensor(x)).asnumpy()
    np.testing.assert_array_equal(last, x.transpose(0, 2, 3, 4, 1))
    np.testing.assert_array_equal(channels_first(ms.Tensor(last)).asnumpy(), x)
    np.testing.assert_array_equal(swap_axes12(ms.Tensor(x)).asnumpy(), x.swapaxes(1, 2))


@pytest.mark.parametrize("cell", [SpaceToChannels, ChannelsToSpace])
def test_stage_reshapes_by_row_gather_equal_their_transpose_form(cell):
    """The CPU form's stage reshapes (channels last, then a row gather) give the accelerator form's."""
    x = ms.Tensor(np.random.default_rng(2).standard_normal((1, 8, 2, 6, 4)).astype(np.float32))
    cpu, accel = cell(), cell()
    accel.accel = True
    np.testing.assert_array_equal(cpu(x).asnumpy(), accel(x).asnumpy())


def test_gathered_and_per_position_convolutions_equal_the_framework_convolution():
    rng = np.random.default_rng(3)
    x = rng.random((2, 5, 11, 9), dtype=np.float32)
    w = ms.Tensor(rng.standard_normal((4, 5, 3, 3)).astype(np.float32))
    b = ms.Tensor(rng.standard_normal(4).astype(np.float32))
    expected = ms.ops.conv2d(ms.Tensor(x), w, b, 1, "pad", 1).asnumpy()
    np.testing.assert_allclose(conv2d_gathered(ms.Tensor(x), w, b).asnumpy(), expected, atol=1e-5)
    rows = ms.Tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
    taps = conv2d_taps(rows, w, b).asnumpy()
    np.testing.assert_allclose(taps.transpose(0, 3, 1, 2), expected, atol=1e-5)
    np.testing.assert_allclose(taps, conv2d_rows(rows, w, b).asnumpy(), atol=1e-5)


def test_taps_convolution_in_a_compiled_graph_equals_row_convolution():
    """conv2d_taps' ops.depend ordering compiles and keeps the sum (graph mode, as the runner runs it)."""
    rng = np.random.default_rng(4)
    rows = ms.Tensor(rng.random((2, 7, 6, 3), dtype=np.float32))
    w = ms.Tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32))
    b = ms.Tensor(rng.standard_normal(5).astype(np.float32))
    out = ms.jit(conv2d_taps)(rows, w, b).asnumpy()
    np.testing.assert_allclose(out, conv2d_rows(rows, w, b).asnumpy(), atol=1e-5)
