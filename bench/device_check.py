"""One check of VRT Upscaler on a GPU or an Ascend card, from a fresh clone, in a few minutes.

    python bench/device_check.py OUT_DIR                 # on a machine with a GPU/Ascend and MindSpore
    python bench/device_check.py OUT_DIR --cpu-dry-run   # the same steps on the CPU with small shapes

Steps: the device listing (with any 'present but unusable' line); the accelerator form against the stored
output of the authors' deformable alignment (tests/data/align_pa6_groups4.npz, made by
`bench/parity.py dump-align`) in float32 and float16 (bound: RMSE <= 2e-3); the whole accelerator form
against stored CPU float32 outputs (tests/data/cpu_forward_{micro,tiny}.npz, made by `bench/parity.py
dump-cpu`) in float32 and float16 with model/precision.py's per-part budget (dry run: micro only);
steady forward time and peak device memory of tiny and reds_6f (random weights) at the authors' test
size; a 60-frame clip with sound through vrt-upscale; a few training iterations of the 001 recipe's
model at its crop size and batch.
Everything is printed as one table and written to OUT_DIR/device_check.json: send us that file.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ALIGN_DATA = ROOT / "tests" / "data" / "align_pa6_groups4.npz"
HALF_RMSE_BOUND = 2e-3
sys.path.insert(0, str(ROOT / "bench"))
from parity import MICRO, stored_cpu_error  # noqa: E402  (bench/ is no package)


def _peak_bytes(ms, on_cpu: bool) -> int:
    """Peak device memory (MindSpore's statistics), or this process's peak RSS on the CPU."""
    if on_cpu:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return int(ms.runtime.max_memory_allocated())


def step_devices(results: dict) -> None:
    from vrt_engine.devices import device_listing

    results["devices"] = device_listing()


def step_alignment_parity(results: dict, ms) -> None:
    """The accelerator form's deformable alignment against the reference's stored output, fp32 and fp16."""
    from vrt_engine.model import ACCELERATOR_FORM, set_form
    from vrt_engine.model.alignment import FlowGuidedDeformConv

    ref = np.load(ALIGN_DATA)
    for dtype_name in ("float32", "float16"):
        dtype = getattr(ms, dtype_name)
        cell = FlowGuidedDeformConv(channels=24, deformable_groups=4, max_residue_magnitude=10.0, pa_frames=6)
        for name, p in cell.parameters_and_names():
            p.set_dtype(dtype)
            p.set_data(ms.Tensor(ref[f"param/{name}"]).astype(dtype))
        set_form(cell, ACCELERATOR_FORM)

        def t(key, dtype=dtype):
            return ms.Tensor(ref[key]).astype(dtype)

        out = cell(t("x"), [t(f"warped{i}") for i in range(3)], t("current"), [t(f"flow{i}") for i in range(3)])
        err = out.astype(ms.float32).asnumpy() - ref["out"]
        rmse = float(np.sqrt(np.mean(err**2)))
        bound = 1e-5 if dtype_name == "float32" else HALF_RMSE_BOUND
        results[f"alignment_parity_{dtype_name}"] = dict(rmse=rmse, max_abs=float(np.abs(err).max()), ok=rmse <= bound)


def step_model_parity(results: dict, dry: bool) -> None:
    """The whole accelerator form against the stored CPU float32 outputs, in float32 and float16."""
    from vrt_engine.model import ACCELERATOR_FORM

    for name in ("micro",) if dry else ("micro", "tiny"):
        for precision in ("float32", "float16"):
            results[f"model_parity_{name}_{precision}"] = stored_cpu_error(name, ACCELERATOR_FORM, precision)


def step_forward(results: dict, ms, dry: bool) -> None:
    """Steady forward time and peak memory; authors' test size: 40 frames of 64x64 tiles (dry: tiny 6x64x64)."""
    from vrt_engine.model import build_model

    cases = [("micro", MICRO, (1, 2, 3, 64, 64))] if dry else [
        ("tiny", "tiny", (1, 6, 3, 64, 64)),
        ("reds_6f", "reds_6f", (1, 40, 3, 64, 64)),
    ]  # fmt: skip
    for name, arch, shape in cases:
        net = build_model(arch)
        run = net if dry else ms.jit(net.construct)  # dry run: eager, to skip a long CPU compilation
        x = ms.Tensor(np.random.default_rng(0).random(shape, dtype=np.float32))
        start = time.perf_counter()
        run(x).asnumpy()
        first = time.perf_counter() - start
        start = time.perf_counter()
        run(x).asnumpy()
        results[f"forward_{name}"] = dict(
            shape=list(shape), form=net.form, first_s=round(first, 2),
            steady_s=round(time.perf_counter() - start, 3), peak_bytes=_peak_bytes(ms, dry),
        )  # fmt: skip


def step_job(results: dict, out_dir: Path, dry: bool) -> None:
    """A clip with sound through vrt-upscale (dry: 8 frames of 32x32 with the micro model)."""
    from vrt_engine.video import ffmpeg_exe

    frames, size = (8, "32x32") if dry else (60, "320x180")
    clip = out_dir / "clip.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-frames:v", str(frames),
         "-t", str(frames / 25), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)],
        check=True,
    )  # fmt: skip
    model = "tiny"
    if dry:
        from vrt_engine.model import build_model, config_from, config_to_dict
        from vrt_engine.weights import save_checkpoint

        model = str(out_dir / "micro.ckpt")
        save_checkpoint(build_model(MICRO), model, config_to_dict(config_from(MICRO)))
    out = out_dir / "clip_x4.mp4"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "upscale", str(clip), str(out), "--model", model, "--overwrite"]
        + (["--eager", "--workers", "1"] if dry else []),
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    results["job"] = dict(
        frames=frames, size=size, seconds=round(time.perf_counter() - start, 1), rc=proc.returncode,
        ok=proc.returncode == 0 and out.is_file(),
        error=proc.stderr.strip().splitlines()[-1:] if proc.returncode else [],
    )  # fmt: skip


def step_training(results: dict, ms, dry: bool) -> None:
    """Training iterations of the 001 recipe's model (reds_6f) at its crop (LQ 64, 6 frames) and batch 8."""
    from mindspore import nn

    from vrt_engine.model import build_model

    arch, batch, frames, iterations = (MICRO, 1, 2, 1) if dry else ("reds_6f", 8, 6, 3)
    net = build_model(arch)
    net.set_train(True)
    opt = nn.Adam(net.trainable_params(), learning_rate=4e-4)
    rng = np.random.default_rng(1)
    lq = ms.Tensor(rng.random((batch, frames, 3, 64, 64), dtype=np.float32))
    gt = ms.Tensor(rng.random((batch, frames, 3, 256, 256), dtype=np.float32))

    def loss_fn(a, b):
        diff = net(a) - b
        return ms.ops.sqrt(diff * diff + 1e-9).mean()

    grad = ms.value_and_grad(loss_fn, None, opt.parameters)
    times, losses = [], []
    for _ in range(iterations):
        start = time.perf_counter()
        loss, grads = grad(lq, gt)
        opt(grads)
        losses.append(float(loss.asnumpy()))
        times.append(time.perf_counter() - start)
    results["training"] = dict(
        batch=batch, frames=frames, form=net.form, seconds_per_iter=[round(t, 2) for t in times],
        losses=losses, finite=bool(np.isfinite(losses).all()), peak_bytes=_peak_bytes(ms, dry),
    )  # fmt: skip


def table(results: dict) -> str:
    lines = [f"{'check':28} result"]
    for key, value in results.items():
        shown = "; ".join(value) if isinstance(value, list) else json.dumps(value)
        lines.append(f"{key:28} {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder for device_check.json and the job's files")
    parser.add_argument("--cpu-dry-run", action="store_true", help="the same steps on the CPU with small shapes")
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    import mindspore as ms

    from vrt_engine.devices import Device, activate, parse_device

    device = Device("cpu") if args.cpu_dry_run else parse_device("auto")
    activate(device)
    results: dict = {"device": device.name, "dry_run": args.cpu_dry_run, "mindspore": ms.__version__}
    steps = [
        ("devices", lambda: step_devices(results)),
        ("alignment_parity", lambda: step_alignment_parity(results, ms)),
        ("model_parity", lambda: step_model_parity(results, args.cpu_dry_run)),
        ("forward", lambda: step_forward(results, ms, args.cpu_dry_run)),
        ("job", lambda: step_job(results, out_dir, args.cpu_dry_run)),
        ("training", lambda: step_training(results, ms, args.cpu_dry_run)),
    ]
    failed = []
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one failing step must not hide the others' figures
            results[f"{name}_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            failed.append(name)
    (out_dir / "device_check.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"written: {out_dir / 'device_check.json'}")
    bad = [k for k, v in results.items() if isinstance(v, dict) and v.get("ok") is False]
    return 1 if failed or bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
