"""Does compiling the built-in model in pieces (one graph per stage) lower its peak memory? (CPU)

    .venv/bin/python bench/graph_pieces.py                 # tiny, (1, 12, 3, 64, 64)
    .venv/bin/python bench/graph_pieces.py --frames 12 --tile 96

One process pinned to one core, as a model worker. The network runs as separate compiled graphs: flows,
alignment and the first convolution; each of stages 1-7; each layer of stage 8; the tail; then the
upsampler frame by frame. The peak resident memory is printed after each piece of the first (compiling)
call, then the whole peak and the time of a second call. Why: a compiled MindSpore graph keeps its
intermediates alive until it ends (bench/graph_memory.py), so smaller graphs might free memory at their
boundaries; compare with bench/tile_memory.py (one graph) at the same size.
"""

from __future__ import annotations

import argparse
import json
import resource
import time


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--tile", type=int, default=64)
    args = parser.parse_args()

    import numpy as np

    from vrt_engine.devices import Device, activate, pin_to_core

    pin_to_core(0)
    import mindspore as ms
    from mindspore import ops

    from vrt_engine import load_model

    activate(Device("cpu"))
    net = load_model("tiny")
    net.set_train(False)
    loaded = peak_mb()
    graphs: dict[str, object] = {}

    def graph(name, fn):
        if name not in graphs:
            graphs[name] = ms.jit(fn)
        return graphs[name]

    def first(x):
        backward, forward = net.get_flows(x)
        ab, af = net._aligned_images(x, backward[0], forward[0])
        return net.conv_first(ops.cat((x, ab, af), axis=2).swapaxes(1, 2)), backward, forward

    def tail(z, y):
        f = net.norm(z.transpose(0, 2, 3, 4, 1)).transpose(0, 4, 1, 2, 3)
        return y + net.conv_after_body(f.swapaxes(1, 4)).swapaxes(1, 4)

    def run(x, log):
        y, bw, fw = graph("first", first)(x)
        log("flows+first")
        bw, fw = list(bw), list(fw)
        skips = []
        z = y
        for i, level in zip(range(1, 8), (0, 1, 2, 3, 2, 1, 0)):
            if i in (6, 7):
                z = z + skips[8 - i]  # stage 6 adds stage 3's output, stage 7 stage 2's
            z = graph(f"stage{i}", getattr(net, f"stage{i}").construct)(z, bw[level::4], fw[level::4])
            if i <= 3:
                skips.append(z)
            log(f"stage{i}")
        z = z + skips[0]
        for k, layer in enumerate(net.stage8):
            z = graph(f"stage8.{k}", layer.construct)(z)
            log(f"stage8.{k}")
        y = graph("tail", tail)(z, y)
        log("tail")
        out = [graph("up", net._upscaled)(y[:, :, k : k + 1]).asnumpy() for k in range(y.shape[2])]
        log("upsampler")
        return np.concatenate(out, axis=1)

    x = ms.Tensor(np.random.default_rng(0).random((1, args.frames, 3, args.tile, args.tile), dtype=np.float32))
    marks: list[tuple[str, int]] = []
    start = time.perf_counter()
    run(x, lambda name: marks.append((name, round(peak_mb()))))
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    run(x, lambda name: None)
    steady = time.perf_counter() - start
    print("peak MB after each piece of the first call:", ", ".join(f"{n} {m}" for n, m in marks))
    pixels = args.frames * args.tile * args.tile
    print(json.dumps({"frames": args.frames, "tile": args.tile, "first_s": round(first_s, 1),
                      "steady_s": round(steady, 2), "peak_mb": round(peak_mb()), "loaded_mb": round(loaded),
                      "kb_per_pixel_frame": round((peak_mb() - loaded) * 1.048576e3 / pixels, 1)}))


if __name__ == "__main__":
    main()
