"""Which kernels the compiled built-in model is made of, and how much they output per pixel-frame.

    .venv/bin/python bench/graph_ops.py                    # tiny on (1, 2, 3, 64, 64)
    .venv/bin/python bench/graph_ops.py --shape 1 6 3 64 64

Compiles the model once with MindSpore's IR dump on (a temporary folder, removed after), reads the
final kernel graph and prints, per kernel type, its count and the floats all its outputs hold per input
pixel-frame (the largest single output too). Why: bench/graph_memory.py shows which kernel types keep
memory outside MindSpore's pool (Transpose, Im2Col, Div); this counts how much of the model they are.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

SKIP = {"Load", "TupleGetItem", "MakeTuple", "Return", "Depend"}


def census(ir_text: str) -> tuple[Counter, Counter, Counter]:
    """(count, output floats, largest output floats) per kernel type in a kernel-graph IR dump."""
    count, floats, largest = Counter(), Counter(), Counter()
    lines = ir_text.split("\n")
    for line, following in zip(lines, lines[1:]):
        m = re.search(r"= (?:PrimFunc_)?(\w+)\(", line)
        if not m or m.group(1) in SKIP:
            continue
        sizes = [
            int(np.prod([int(d) for d in shape.split(",") if d.strip()]))
            for shape in re.findall(r"Tensor\[\w+\], \(([\d, ]*)\)", following.split("->")[-1])
        ]
        op = m.group(1)
        count[op] += 1
        floats[op] += sum(sizes)
        largest[op] = max(largest[op], max(sizes, default=0))
    return count, floats, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--shape", nargs=5, type=int, default=[1, 2, 3, 64, 64], metavar=("N", "D", "C", "H", "W"))
    args = parser.parse_args()

    import mindspore as ms

    from vrt_engine import load_model
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"))
    with tempfile.TemporaryDirectory() as folder:
        ms.set_context(save_graphs=2, save_graphs_path=folder)
        net = load_model(args.model)
        net.set_train(False)
        ms.jit(net.construct)(ms.Tensor(np.zeros(args.shape, np.float32))).asnumpy()
        dumps = sorted(Path(folder).rglob("graph_build_*.ir"))
        if not dumps:
            raise SystemExit(f"{folder}: MindSpore wrote no graph_build IR file")
        count, floats, largest = census(dumps[-1].read_text())
    pixels = args.shape[0] * args.shape[1] * args.shape[3] * args.shape[4]
    print(f"{args.model}, input {tuple(args.shape)}: kernels of the compiled graph")
    print(f"{'kernel':20} {'count':>5} {'floats/px-frame':>15} {'largest':>8}")
    for op, total in floats.most_common():
        print(f"{op:20} {count[op]:5} {total / pixels:15.1f} {largest[op] / pixels:8.1f}")


if __name__ == "__main__":
    main()
