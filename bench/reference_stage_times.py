"""Where the authors' PyTorch VRT spends one forward, part by part, to set beside bench/stage_times.py.

Run with a Python that has torch + torchvision + einops and a checkout of JingyunLiang/VRT (torch never
enters this project's environment, as in bench/parity.py):

    python bench/reference_stage_times.py --vrt-repo /path/to/VRT               # reds_6f, (1, 6, 3, 64, 64)
    python bench/reference_stage_times.py --vrt-repo /path/to/VRT --threads 2 --repeats 2

Each part is timed by forward hooks on the reference's own modules (PyTorch runs CPU kernels
synchronously, so a hook's clock is the part's time); parts are grouped by the kinds that
bench/stage_times.py prints. The reference's deformable convolution (pa_deform) is timed alone, so its
"parallel warping" leaves out the flow warps of the neighbours that ours includes (a few percent of it).
Random weights: speed does not depend on them. The last pass is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

from parity import REDS_6F  # the released 6-frame architecture, as parity.py dumps it (bench/ is on sys.path)


def timed_parts(net) -> dict[str, object]:
    """The reference's modules to time, by the kind of part bench/stage_times.py calls them."""
    parts: dict[str, object] = {"flows (SpyNet)": [net.spynet]}
    parts["reconstruction"] = [net.conv_before_upsample, net.upsample, net.conv_last]
    parts["mutual+self attention"] = [getattr(net, f"stage{i}").residual_group1 for i in range(1, 8)]
    parts["self attention"] = [getattr(net, f"stage{i}").residual_group2 for i in range(1, 8)]
    parts["parallel warping"] = [getattr(net, f"stage{i}").pa_deform for i in range(1, 8)]
    parts["fusion"] = [getattr(net, f"stage{i}").pa_fuse for i in range(1, 8)]
    parts["stage8 blocks"] = list(net.stage8)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vrt-repo", required=True, help="a checkout of JingyunLiang/VRT")
    parser.add_argument("--shape", nargs=5, type=int, default=[1, 6, 3, 64, 64], metavar=("N", "D", "C", "H", "W"))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2: this machine)")
    parser.add_argument("--repeats", type=int, default=2, help="passes; the last is printed (default 2)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")
    repo = Path(args.vrt_repo)
    if not (repo / "models" / "network_vrt.py").is_file():
        parser.error(f"--vrt-repo {repo}: no models/network_vrt.py there")

    import torch

    sys.path.insert(0, str(repo.resolve()))
    from models.network_vrt import VRT  # the reference, from the user's checkout

    torch.set_num_threads(args.threads)
    net = VRT(**REDS_6F).eval()
    times: dict[str, float] = defaultdict(float)
    starts: dict[int, float] = {}

    def hook_pair(kind: str):
        def before(module, _inputs):
            starts[id(module)] = time.perf_counter()

        def after(module, _inputs, _output):
            times[kind] += time.perf_counter() - starts[id(module)]

        return before, after

    for kind, modules in timed_parts(net).items():
        before, after = hook_pair(kind)
        for module in modules:
            module.register_forward_pre_hook(before)
            module.register_forward_hook(after)
    x = torch.rand(*args.shape)
    with torch.no_grad():
        for _ in range(args.repeats):
            times.clear()
            start = time.perf_counter()
            net(x)
            total = time.perf_counter() - start
    print(f"reference reds_6f (torch {torch.__version__}, {args.threads} threads), input {tuple(args.shape)}, CPU:")
    print(f"{'whole forward':34} {total:7.2f} s")
    for kind, seconds in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"{kind:34} {seconds:7.2f} s {100 * seconds / total:5.1f}%")
    rest = total - sum(times.values())
    print(f"{'the rest (embedding, reshapes, ...)':34} {rest:7.2f} s {100 * rest / total:5.1f}%")


if __name__ == "__main__":
    main()
