"""Half precision by part: matrix products and convolutions in float16 (or bfloat16), the parts that
need float32 kept there.

Why per part: a whole network cast to float16 rounds every intermediate to 11 bits, and some parts
amplify that (softmax over large scores, layer norms' variance, optical flow used as sampling
positions in pixels). Each part is a set of cells; MindSpore's
Cell.to_float casts a cell's inputs (parameters included) to the type, so the whole network is set to
half precision first and the kept parts back to float32 after. The choice of FLOAT32_PARTS was
measured against float32 on the CPU (bench/half_precision.py, docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable

PARTS = ("layer_norm", "softmax", "flow", "alignment")
# layer_norm: every nn.LayerNorm (MindSpore's CPU has no float16 LayerNorm: also what makes CPU runs go);
# softmax: the attention softmax (its scale is applied to q before the product, as the reference does);
# flow: SpyNet (flows are sampling positions in pixels); alignment: the flow-guided deformable
# convolutions (offsets, masks, sampling). Not a part: the upsampling head and the output's residual add
# (VRT._upscaled calls its convolutions by .frames, not as cells, so Cell.to_float cannot reach them; they
# run in the network's precision and the runner casts the output to float32).
FLOAT32_PARTS = ("layer_norm", "softmax", "flow")


def part_cells(net, part: str) -> list:
    """The cells of `net` (a VRT) that make up `part`."""
    from mindspore import nn

    from .alignment import FlowGuidedDeformConv
    from .attention import Softmax

    if part == "layer_norm":
        return [c for _, c in net.cells_and_names() if isinstance(c, nn.LayerNorm)]
    if part == "softmax":
        return [c for _, c in net.cells_and_names() if isinstance(c, Softmax)]
    if part == "flow":
        return [net.spynet]
    if part == "alignment":
        return [c for _, c in net.cells_and_names() if isinstance(c, FlowGuidedDeformConv)]
    raise ValueError(f"precision part: expected one of {', '.join(PARTS)}, got '{part}'")


def set_precision(net, precision: str, float32_parts: Iterable[str] = FLOAT32_PARTS):
    """Run `net` in `precision` ("float32", "float16", "bfloat16") with `float32_parts` kept in float32.

    In place; returns net. Parameters stay float32 (checkpoints unchanged); call before compiling.
    """
    import mindspore as ms

    if precision not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"precision: expected float32, float16 or bfloat16, got '{precision}'")
    kept = [part_cells(net, part) for part in float32_parts]  # unknown parts fail before anything changes
    if precision == "float32":
        return net
    net.to_float(getattr(ms, precision))
    for cells in kept:
        for cell in cells:
            cell.to_float(ms.float32)
    return net
