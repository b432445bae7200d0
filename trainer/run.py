"""A training run: build the model and data from a recipe, resume, step, log, validate, checkpoint.

Only rank 0 writes logs and checkpoints; every rank runs the same steps on its share of each batch.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from vrt_engine.msrun import local_rank, pin_cpu_worker, worker_device

from . import checkpoint, schedule
from .config import Config, to_dict
from .distributed import World, init_world, sum_over_ranks
from .loop import Meter, TrainStep, log_line, to_tensor


def _arch(cfg: Config) -> dict:
    from vrt_engine.model import config_from, config_to_dict

    return config_to_dict(config_from(cfg.model.preset if cfg.model.preset else cfg.model.arch))


def build_model(cfg: Config, log) -> object:
    """The network of the recipe, with pretrained weights and the authors' SpyNet where given."""
    from vrt_engine.model import build_model as build
    from vrt_engine.weights import load_arrays, map_torch_state, parameter_shapes, read_checkpoint, read_pth

    model = build(_arch(cfg))
    if cfg.model.pretrained:
        path = Path(cfg.model.pretrained)
        arrays = (map_torch_state(parameter_shapes(model), read_pth(path)) if path.suffix == ".pth"
                  else read_checkpoint(path)[1])
        shapes = parameter_shapes(model)
        load_arrays(model, {k: v for k, v in arrays.items() if k in shapes})
        log(f"started from {path}")
    if cfg.model.spynet_path:
        path = Path(cfg.model.spynet_path)
        if not path.is_file():
            raise ValueError(f"model.spynet_path: {path} not found")
        spynet = {n: s for n, s in parameter_shapes(model).items() if n.startswith("spynet.")}
        state = read_pth(path)
        state = state.get("params", state) if isinstance(state.get("params"), dict) else state
        prefixed = {k if k.startswith("spynet.") else f"spynet.{k}": v for k, v in state.items()}
        try:
            load_arrays(model, map_torch_state(spynet, prefixed))
        except ValueError as exc:
            raise ValueError(f"{path}: not a SpyNet state dict ({exc})") from None
        log(f"SpyNet initialised from {path}")
    elif not cfg.model.pretrained:
        message = "no model.spynet_path: SpyNet trains from scratch (the published recipe starts from a pretrained one)"
        warnings.warn(message, stacklevel=1)
        log(f"warning: {message}")
    return model


def _use_amp(cfg: Config) -> bool:
    import mindspore as ms

    if cfg.train.amp == "auto":
        return ms.get_context("device_target") in ("GPU", "Ascend")
    return cfg.train.amp == "on"


def _set_device(cfg: Config) -> None:
    import mindspore as ms

    from vrt_engine.devices import activate, parse_device

    mode = ms.GRAPH_MODE if cfg.train.graph else ms.PYNATIVE_MODE
    ms.set_context(mode=mode)
    local = local_rank()  # msrun gives each worker its card
    auto_kind = parse_device("auto").kind if cfg.train.device.strip().lower() == "auto" else ""
    device = parse_device(worker_device(cfg.train.device, auto_kind, local))
    if device.kind == "cpu":
        pin_cpu_worker(local)  # msrun's workers on one machine's CPU: one core each, as the model workers
    activate(device)


def _resume(cfg: Config, world: World, resume: str | None):
    """The checkpoint every rank resumes from (None: a fresh start); the same iteration on all ranks.

    Rank 0 decides (it alone writes checkpoints) and tells the others the iteration; every rank then
    reads that checkpoint itself, so on several machines the output folder must be shared. A rank that
    cannot read it fails, and so do the others, instead of training from different iterations.
    """
    folder = cfg.run_dir / "checkpoints"
    saved, error, chosen = None, "", 0
    if world.is_main:
        try:
            path = checkpoint.find_resume(cfg.run_dir, resume)
            saved = checkpoint.load(path) if path is not None else None
            chosen = saved.iteration if saved is not None else 0
        except ValueError as exc:
            error = str(exc)
    chosen = int(sum_over_ranks(world, [chosen])[0])
    if not world.is_main and chosen:
        path = checkpoint.checkpoint_path(folder, chosen) if resume == "auto" else Path(str(resume))
        try:
            saved = checkpoint.load(path)
            if saved.iteration != chosen:
                error = f"{path}: holds iteration {saved.iteration}, rank 0 resumes from {chosen}"
        except ValueError as exc:
            error = f"{exc} (rank 0 resumes from iteration {chosen}; the output folder must be shared by all machines)"
    failed = int(sum_over_ranks(world, [1 if error else 0])[0])
    if error:
        raise ValueError(f"rank {world.rank}: {error}" if world.size > 1 else error)
    if failed:
        raise ValueError(f"rank {world.rank}: another rank could not read the checkpoint to resume from (see its log)")
    return saved


class Logger:
    """Rank 0 prints and appends to run_dir/train.log; other ranks stay silent."""

    def __init__(self, world: World, path: Path | None):
        self.world, self.path = world, path
        if world.is_main and path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, message: str) -> None:
        if not self.world.is_main:
            return
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {message}", flush=True)
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(f"{stamp} {message}\n")


def train(cfg: Config, resume: str | None = None) -> dict:
    """Run (or resume) a recipe to its last iteration; returns the last log values."""
    import mindspore as ms

    from vrt_engine.model.layers import DropPath

    from .data.train_clips import TrainClips, batches, make_dataset
    from .validate import load_val_clips, validate

    _set_device(cfg)  # the device first: MindSpore binds the communication group to it
    world = init_world()
    if cfg.data.train.batch_size % world.size:
        raise ValueError(f"data.train.batch_size: {cfg.data.train.batch_size} does not split across "
                         f"{world.size} workers (use a multiple of {world.size})")
    run_dir = cfg.run_dir
    log = Logger(world, run_dir / "train.log")
    ms.set_seed(cfg.train.seed)
    np.random.seed(cfg.train.seed)
    DropPath.generator.manual_seed(cfg.train.seed)  # the drop path masks; saved in every checkpoint

    model = build_model(cfg, log)
    arch = _arch(cfg)
    amp = _use_amp(cfg)
    if amp:
        # "auto": fp16 per primitive (convolutions, matmuls), in place, parameter names unchanged, so
        # checkpoints stay model files. "O1" rewrites the model's source and fails on VRT (MindSpore 2.10).
        model = ms.amp.auto_mixed_precision(model, "auto")
    model.set_train(True)
    step = TrainStep(model, cfg, world.size, amp=amp)

    start = 0
    saved = _resume(cfg, world, resume)
    if saved is not None:
        resume_path = saved.path
        refused, changed = checkpoint.compare_configs(saved.state.get("config", {}), to_dict(cfg))
        if refused:
            key, old, new = refused[0]
            raise ValueError(f"{resume_path}: saved with {key}={old}, this run has {new}; resuming needs the same "
                             f"value (the data order depends on it): --set {key}={old}, or start a new run from it "
                             "with model.pretrained")
        if changed:
            log(f"warning: resuming with changed settings: {', '.join(f'{k} {o} -> {n}' for k, o, n in changed)}")
        from vrt_engine.weights import load_arrays, parameter_shapes

        shapes = parameter_shapes(model)
        bad = [k for k in shapes if k not in saved.model or saved.model[k].shape != shapes[k]]
        if bad:
            raise ValueError(f"{resume_path}: weights do not match this recipe's model ({', '.join(bad[:3])})")
        load_arrays(model, {k: saved.model[k] for k in shapes})
        checkpoint.restore_optimizer(step.optimizer_state(), saved.optimizer, resume_path)
        if saved.rng is not None:
            ms.set_rng_state(ms.Tensor(saved.rng))
        if saved.drop_path_rng is not None:
            DropPath.generator.set_state(ms.Tensor(saved.drop_path_rng))
        elif arch.get("drop_path_rate", 0.0) > 0:
            log(f"warning: {resume_path} has no drop path RNG state (saved by an older vrt-trainer): the drop "
                "path masks from here on differ from those of an uninterrupted run")
        start = saved.iteration
        log(f"resumed from {resume_path} at iteration {start}")

    total = cfg.train.iterations
    if start >= total:
        log(f"nothing to do: iteration {start} >= train.iterations {total}")
        return {"iteration": start}
    per_rank = cfg.data.train.batch_size // world.size
    clips = TrainClips(cfg.data.train, arch["upscale"], cfg.train.seed, (total - start) * per_rank, start,
                       world.rank, world.size)
    val_clips = load_val_clips(cfg) if world.is_main else []
    data = make_dataset(clips, cfg.data.train.num_workers)
    log(f"run {cfg.name}: {len(clips.keys)} training samples, batch {cfg.data.train.batch_size} "
        f"({clips.per_rank} per worker x {world.size}), {len(val_clips)} validation clips, "
        f"graph={cfg.train.graph}, amp={amp}, device={ms.get_context('device_target')}")
    if world.is_main:
        (run_dir / "config.json").write_text(json.dumps(to_dict(cfg), indent=2) + "\n")

    meter = Meter(total, start)
    meter.tick(start)  # the first interval includes data start-up, as every later one includes loading
    seen = hashlib.sha1()
    last: dict = {}
    history = run_dir / "history.jsonl"
    iteration = start
    for batch in batches(data):
        iteration += 1
        seen.update(np.ascontiguousarray(batch[0]).tobytes())
        lrs = schedule.group_lrs(iteration, cfg.train)
        frozen = schedule.is_frozen(iteration, cfg.train)
        step.set_lrs(*lrs)
        loss, updated = step(to_tensor(batch[0]), to_tensor(batch[1]), frozen)
        per_iter, eta = meter.tick(iteration)
        last = {"iteration": iteration, "loss": loss, "lr": lrs[0], "lr_fixed": lrs[1], "frozen": frozen,
                "time": time.time()}
        if amp:
            last.update(loss_scale=step.loss_scale(), skipped=not updated)
        if world.is_main:
            with history.open("a") as f:
                f.write(json.dumps(last) + "\n")
        if not np.isfinite(loss) and (updated or not amp):  # with amp an overflow only lowers the scale
            raise ValueError(f"iteration {iteration}: loss is {loss} (lower train.lr or check the data)")
        if iteration % cfg.log.every == 0 or iteration == start + 1 or iteration == total:
            log(log_line(iteration, total, loss, lrs, per_iter, eta, frozen)
                + (f" loss scale {last['loss_scale']:g}{' (overflow: step skipped)' if not updated else ''}"
                   if amp else ""))
        if world.is_main and (iteration % cfg.checkpoint.every == 0 or iteration == total):
            state = {"iteration": iteration, "config": to_dict(cfg), "seed": cfg.train.seed,
                     "sample_position": iteration * cfg.data.train.batch_size}
            path = checkpoint.save(run_dir / "checkpoints", iteration, model, arch, step.optimizer_state(), state,
                                   cfg.checkpoint.keep)
            log(f"saved {path}")
        if val_clips and (iteration % cfg.val.every == 0 or iteration == total):
            result = validate(model, cfg, val_clips)
            last.update(result)
            log(f"validation at {iteration}: PSNR {result['psnr']:.2f} dB, PSNR-Y {result['psnr_y']:.2f} dB "
                f"({', '.join(f'{k[5:]} {v:.2f}' for k, v in result.items() if k.startswith('psnr/'))})")
        if iteration >= total:
            break
    # Every rank waits here for the others (rank 0 validates alone): a rank that exits while another still
    # works can make msrun report a failure for a run that finished on every rank.
    sum_over_ranks(world, [1.0])
    digest = hashlib.sha1()
    for _, p in sorted(model.parameters_and_names()):
        digest.update(p.asnumpy().tobytes())
    # One line per rank on stdout (msrun keeps it in worker_N.log): data-parallel ranks must agree on the
    # weights and differ in the samples they saw.
    print(f"rank {world.rank}/{world.size} finished at iteration {iteration}: weights sha1 {digest.hexdigest()}, "
          f"samples sha1 {seen.hexdigest()}", flush=True)
    sys.stdout.flush()
    return last


def evaluate(cfg: Config, checkpoint_path: str) -> dict:
    """Validation alone, with a trained checkpoint (ours, training or plain, or an authors' .pth)."""
    from vrt_engine import load_model

    from .validate import load_val_clips, validate

    _set_device(cfg)
    clips = load_val_clips(cfg)
    if not clips:
        raise ValueError("data.val: no validation folders in this recipe (set data.val.dataroot_gt/lq)")
    model = load_model(checkpoint_path)
    return validate(model, cfg, clips)
