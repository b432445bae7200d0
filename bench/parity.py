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

`check --form accelerator` runs our model in the accelerator form (plain convolutions, fused deformable
convolution) instead of the CPU form. `dump-cpu` stores our own whole-model outputs for
bench/device_check.py (a device has no torch): the micro model (random weights from numpy's seed 0,
seeded_weights) and the built-in tiny model, CPU form, float32, eager, on a 1x2x3x64x64 input from seed 2;
`check-cpu` runs a form and precision against them (float32: RMSE <= 1e-4; float16: RMSE <= 2e-3):

  python bench/parity.py dump-cpu                  # writes tests/data/cpu_forward_{micro,tiny}.npz
  python bench/parity.py check-cpu --form accelerator --precision float16
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MICRO = dict(
    upscale=4, img_size=[2, 64, 64], window_size=[2, 8, 8], depths=[2] * 7 + [2, 2], indep_reconsts=[8],
    embed_dims=[8] * 7 + [12, 12], num_heads=[2] * 9, pa_frames=2, deformable_groups=2, num_feat=8,
    spynet_skip_levels=2,
)  # fmt: skip
CPU_REFS = {name: ROOT / "tests" / "data" / f"cpu_forward_{name}.npz" for name in ("micro", "tiny")}
# RMSE on [0, 1]; float32 as `check`: the forms' nearest-neighbour warps (flow_warp_nearest4) may pick
# another pixel where flows differ by rounding, which random weights make a few 1e-5
STORED_BOUNDS = {"float32": 1e-4, "float16": 2e-3, "bfloat16": 8e-3}

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


def seeded_weights(net, seed: int = 0, spread: float = 1.0) -> None:
    """Every parameter from numpy's generator in name order: the same weights on any machine and device
    (MindSpore's initialisers need not agree between devices), without storing them.

    Matrices get the spread of PyTorch's and MindSpore's default initialisers (std 1/sqrt(3 fan-in)) times
    `spread`. Why not larger: at spread sqrt(3) (what dump-cpu used until 2026-12-07) the random
    network amplifies any rounding stage after stage, and float16 error grew ~100x from stage 1 to
    stage 7 (`bench/half_precision.py --stages --weights seeded --spread 1.732`): a property of those
    weights, not of half precision, that trained and freshly initialised networks do not have.
    """
    import mindspore as ms

    rng = np.random.default_rng(seed)
    for name, p in net.parameters_and_names():
        shape = tuple(p.shape)
        noise = rng.standard_normal(shape).astype(np.float32)
        if name.endswith("gamma"):
            value = 1.0 + 0.02 * noise
        elif len(shape) == 1 or name.endswith("relative_position_bias_table"):
            value = 0.02 * noise  # as MindSpore's and the reference's initialisers (larger: float16 drifts)
        else:
            value = spread * noise / np.sqrt(3 * np.prod(shape[1:]))
        if "conv_offset" in name:
            value = 0.02 * value  # learned offsets of a small fraction of a pixel
        elif "spynet" in name:
            value = 0.3 * value  # flows of about a pixel, sampling inside the frame (as `dump`)
        p.set_data(ms.Tensor(value.astype(np.float32)))


def dump_cpu(args: argparse.Namespace) -> None:
    import mindspore as ms

    from vrt_engine import load_model
    from vrt_engine.devices import Device, activate
    from vrt_engine.model import CPU_FORM, build_model, config_to_dict, set_form

    activate(Device("cpu"))
    for name in args.cases:
        net = build_model(MICRO, form=CPU_FORM) if name == "micro" else load_model(name)
        if name == "micro":
            seeded_weights(net)
        set_form(net, CPU_FORM)
        x = np.random.default_rng(2).random((1, 2, 3, 64, 64), dtype=np.float32)
        arrays = {"x": x, "out": net(ms.Tensor(x)).asnumpy(), "arch": np.array(json.dumps(config_to_dict(net.cfg)))}
        if name != "micro":
            arrays["model"] = np.array(name)  # the built-in weights
        np.savez_compressed(CPU_REFS[name], **arrays)
        print(f"{CPU_REFS[name]}: out {arrays['out'].shape}, mean |out| {np.abs(arrays['out']).mean():.3f}")


def stored_cpu_error(name: str, form: str, precision: str) -> dict:
    """Our model in `form` and `precision` against its stored CPU float32 output (dump-cpu)."""
    import mindspore as ms

    from vrt_engine import load_model
    from vrt_engine.model import build_model, set_form
    from vrt_engine.model.precision import set_precision

    ref = np.load(CPU_REFS[name])
    if "model" in ref:
        net = load_model(str(ref["model"]))
    else:
        net = build_model(json.loads(str(ref["arch"])))
        seeded_weights(net)
    set_precision(set_form(net, form), precision)
    start = time.perf_counter()
    y = net(ms.Tensor(ref["x"])).astype(ms.float32).asnumpy()
    err = y - ref["out"]
    rmse = float(np.sqrt(np.mean(err**2)))
    return dict(
        form=form, precision=precision, rmse=rmse, max_abs=float(np.abs(err).max()),
        seconds=round(time.perf_counter() - start, 1), ok=rmse <= STORED_BOUNDS[precision],
    )  # fmt: skip


def check_cpu(args: argparse.Namespace) -> int:
    from vrt_engine.devices import Device, activate

    activate(Device("cpu"))
    worst = 0
    for name in args.cases:
        r = stored_cpu_error(name, args.form, args.precision)
        worst |= not r["ok"]
        print(
            f"{name}: {r['form']} form, {r['precision']}: RMSE {r['rmse']:.2e} max|err| {r['max_abs']:.2e} "
            f"({r['seconds']} s) -> {'PASS' if r['ok'] else 'FAIL'}",
            flush=True,
        )
    return worst


def check(args: argparse.Namespace) -> int:
    out = Path(args.out)
    import mindspore as ms

    from vrt_engine import load_model
    from vrt_engine.model import set_form

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
        model = set_form(load_model(ckpt), args.form)
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
            f"(mean |out| {residual:.3f}) ours ({args.form} form) {seconds:.1f} s -> {'PASS' if ok else 'FAIL'}",
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
    c.add_argument("--form", default="cpu", choices=["cpu", "accelerator"], help="our model's form (model/forms.py)")
    dc = sub.add_parser("dump-cpu")
    dc.add_argument("--cases", nargs="+", default=list(CPU_REFS), choices=list(CPU_REFS))
    cc = sub.add_parser("check-cpu")
    cc.add_argument("--cases", nargs="+", default=list(CPU_REFS), choices=list(CPU_REFS))
    cc.add_argument("--form", default="accelerator", choices=["cpu", "accelerator"])
    cc.add_argument("--precision", default="float32", choices=list(STORED_BOUNDS))
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
    if args.cmd == "dump-cpu":
        dump_cpu(args)
        return 0
    if args.cmd == "check-cpu":
        return check_cpu(args)
    return check(args)


if __name__ == "__main__":
    raise SystemExit(main())
