"""Numerical parity of our MindSpore VRT with the authors' PyTorch VRT on random weights.

Two halves, run by two Pythons, so that torch never enters this project's environment:

  # 1. with a Python that has torch + torchvision + einops, and a checkout of JingyunLiang/VRT:
  python bench/parity.py dump --vrt-repo /path/to/VRT --out /tmp/parity
  # 2. with this project's environment:
  .venv/bin/python bench/parity.py check --out /tmp/parity

`dump` builds the reference network for each case, randomises every weight (including the ones the
reference initialises to zero), saves its state_dict as a .pth, an input clip and the reference output.
`check` imports each .pth with `vrt-convert`, runs our model and prints RMSE and max abs error.

`dump-align` writes one small .npz for the test suite: the reference's flow-guided deformable alignment
alone (DCNv2PackFlowGuided, width 24, pa_frames 6, 4 deformable groups) with random weights, inputs and
its output; tests/test_alignment_parity.py compares ours with it:

  python bench/parity.py dump-align --vrt-repo /path/to/VRT --out tests/data/align_pa6_groups4.npz
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SMALL = dict(
    upscale=4,
    depths=[4, 4, 4, 4, 4, 4, 4, 2, 2, 2],
    indep_reconsts=[9],
    embed_dims=[24, 24, 24, 24, 24, 24, 24, 32, 32, 32],
    num_heads=[2] * 10,
    deformable_groups=6,
)
CASES = {
    "pa2_square": dict(
        arch=dict(SMALL, img_size=[6, 64, 64], window_size=[6, 8, 8], pa_frames=2), shape=[1, 6, 3, 64, 64]
    ),
    "pa2_nonsquare_batch2": dict(
        arch=dict(SMALL, img_size=[6, 64, 64], window_size=[6, 8, 8], pa_frames=2), shape=[2, 6, 3, 64, 96]
    ),
    "pa4_nonsquare": dict(
        arch=dict(SMALL, img_size=[8, 64, 64], window_size=[4, 8, 8], pa_frames=4), shape=[1, 8, 3, 80, 64]
    ),
    "pa6": dict(arch=dict(SMALL, img_size=[8, 64, 64], window_size=[8, 8, 8], pa_frames=6), shape=[1, 8, 3, 64, 64]),
    # 4 deformable groups over 3 neighbours: a group straddles two neighbours' channels and two flows
    "pa6_groups4": dict(
        arch=dict(SMALL, img_size=[8, 64, 64], window_size=[8, 8, 8], pa_frames=6, deformable_groups=4),
        shape=[1, 8, 3, 64, 64],
    ),
    "reds_6f": dict(arch="reds_6f", shape=[1, 6, 3, 64, 64]),
}
REDS_6F = dict(
    upscale=4,
    img_size=[6, 64, 64],
    window_size=[6, 8, 8],
    depths=[8] * 7 + [4] * 6,
    indep_reconsts=[11, 12],
    embed_dims=[120] * 7 + [180] * 6,
    num_heads=[6] * 13,
    pa_frames=2,
    deformable_groups=12,
)


def dump(args: argparse.Namespace) -> None:
    import torch

    sys.path.insert(0, str(Path(args.vrt_repo).resolve()))
    from models.network_vrt import VRT  # the reference, from the user's checkout

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name in args.cases:
        case = CASES[name]
        arch = REDS_6F if case["arch"] == "reds_6f" else case["arch"]
        net = VRT(**arch).eval()
        with torch.no_grad():
            for key, p in net.named_parameters():
                if key.endswith("relative_position_bias_table"):
                    p.normal_(0, 0.5)
                elif "conv_offset" in key:
                    p.normal_(0, 0.02)  # zero-initialised in the reference: randomise so offsets and masks vary
                elif "spynet" in key:
                    p.mul_(0.3)  # keep random flows at a few pixels, so warps sample inside the frame
                elif p.ndim == 1:
                    p.add_(torch.randn_like(p) * 0.1)
        rng = np.random.default_rng(1)
        x = rng.random(case["shape"], dtype=np.float32)
        start = time.perf_counter()
        with torch.no_grad():
            y = net(torch.from_numpy(x)).numpy()
            flows = net.get_flows(torch.from_numpy(x))[0][0]
        seconds = time.perf_counter() - start
        torch.save({"params": net.state_dict()}, out / f"{name}.pth")
        np.save(out / f"{name}_in.npy", x)
        np.save(out / f"{name}_out.npy", y)
        arch_file = out / f"{name}_arch.json"
        arch_file.write_text(json.dumps(arch))
        print(f"{name}: reference forward {seconds:.1f} s, mean |flow| {flows.abs().mean():.2f} px", flush=True)


ALIGN = dict(channels=24, deformable_groups=4, pa_frames=6, max_residue_magnitude=10.0, shape=(2, 6, 7))


def dump_align(args: argparse.Namespace) -> None:
    import torch

    sys.path.insert(0, str(Path(args.vrt_repo).resolve()))
    from models.network_vrt import DCNv2PackFlowGuided  # the reference, from the user's checkout

    torch.manual_seed(0)
    c, g, pa = ALIGN["channels"], ALIGN["deformable_groups"], ALIGN["pa_frames"]
    net = DCNv2PackFlowGuided(
        c, c, 3, padding=1, deformable_groups=g, max_residue_magnitude=ALIGN["max_residue_magnitude"], pa_frames=pa
    ).eval()
    with torch.no_grad():
        for key, p in net.named_parameters():
            if "conv_offset" in key:
                p.normal_(0, 0.05)  # the last layer is zero in the reference: offsets and masks must vary
            elif p.ndim == 1:
                p.normal_(0, 0.1)
    n, h, w = ALIGN["shape"]
    rng = np.random.default_rng(3)
    arrays = {
        "x": rng.random((n, pa // 2 * c, h, w), dtype=np.float32),
        "current": rng.random((n, c, h, w), dtype=np.float32),
    }
    for i in range(pa // 2):
        arrays[f"warped{i}"] = rng.random((n, c, h, w), dtype=np.float32)
        arrays[f"flow{i}"] = (rng.standard_normal((n, 2, h, w)) * 1.5).astype(np.float32)
    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    with torch.no_grad():
        y = net(
            t["x"], [t[f"warped{i}"] for i in range(pa // 2)], t["current"], [t[f"flow{i}"] for i in range(pa // 2)]
        )
    arrays["out"] = y.numpy()
    arrays.update({f"param/{k}": v.numpy() for k, v in net.state_dict().items()})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"{args.out}: out {tuple(y.shape)}, mean |out| {y.abs().mean():.3f}", flush=True)


def check(args: argparse.Namespace) -> int:
    out = Path(args.out)
    import mindspore as ms

    from vrt_engine import load_model

    worst = 0
    for name in args.cases:
        pth = out / f"{name}.pth"
        if not pth.exists():
            print(f"{name}: no dump, skipped")
            continue
        arch_file = out / f"{name}_arch.yaml"
        arch_file.write_text(json.dumps(json.loads((out / f"{name}_arch.json").read_text())))
        ckpt = out / f"{name}.ckpt"
        subprocess.run(
            [sys.executable, "-m", "vrt_engine.cli", "convert", str(pth), str(ckpt), "--arch", str(arch_file)]
            + ["--overwrite"],
            check=True,
        )
        model = load_model(ckpt)
        x = np.load(out / f"{name}_in.npy")
        ref = np.load(out / f"{name}_out.npy")
        start = time.perf_counter()
        y = model(ms.Tensor(x)).asnumpy()
        seconds = time.perf_counter() - start
        err = y - ref
        rmse = float(np.sqrt(np.mean(err**2)))
        max_abs = float(np.abs(err).max())
        ok = rmse <= 1e-4 and max_abs <= 1e-3
        worst |= not ok
        residual = float(np.abs(ref).mean())
        print(
            f"{name}: shape {tuple(x.shape)} RMSE {rmse:.2e} max|err| {max_abs:.2e} "
            f"(mean |out| {residual:.3f}) ours {seconds:.1f} s -> {'PASS' if ok else 'FAIL'}",
            flush=True,
        )
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--vrt-repo", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--cases", nargs="+", default=[c for c in CASES if c != "reds_6f"], choices=list(CASES))
    c = sub.add_parser("check")
    c.add_argument("--out", required=True)
    c.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    a = sub.add_parser("dump-align")
    a.add_argument("--vrt-repo", required=True)
    a.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.cmd == "dump-align":
        dump_align(args)
        return 0
    if args.cmd == "dump":
        dump(args)
        return 0
    return check(args)


if __name__ == "__main__":
    raise SystemExit(main())
