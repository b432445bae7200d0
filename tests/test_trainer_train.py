"""Training for real (micro VRT, 2-core CPU): loss goes down, kill -9 + resume matches, msrun data parallel."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest
from trainer_fixtures import ROOT, VENV_BIN, env, free_port, make_mini_reds, micro_recipe, run_cli

from trainer import checkpoint

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def one_clip(tmp_path_factory):
    """One training clip of 2 frames and full-frame crops without flips: every step sees the same sample."""
    return make_mini_reds(tmp_path_factory.mktemp("reds") / "one", clips=1, frames=2)


def _history(run_dir):
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def _kill9_after_first_checkpoint(recipe, run_dir, timeout: float = 300) -> None:
    """Train a recipe of 3 iterations and kill -9 it once its first checkpoint is on disk, before the end."""
    cmd = [str(VENV_BIN / "vrt-trainer"), "train", "--config", str(recipe), "--resume", "auto"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = run_dir / "checkpoints" / "iter_00000001.ckpt"
    deadline = time.time() + timeout
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert first.exists(), "no checkpoint appeared"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert max(h["iteration"] for h in _history(run_dir)) < 3


def _different_tensors(a: checkpoint.Resumed, b: checkpoint.Resumed) -> list[str]:
    """Names of the weights and optimiser tensors that are not bit for bit equal in two checkpoints."""
    assert a.model.keys() == b.model.keys() and a.optimizer.keys() == b.optimizer.keys()
    differ = [k for k in a.model if not np.array_equal(a.model[k], b.model[k])]
    return differ + [k for k in a.optimizer if not np.array_equal(a.optimizer[k], b.optimizer[k])]


def test_training_lowers_loss_and_resume_after_kill9_matches(one_clip, tmp_path):
    # Iteration 1 has SpyNet/deform frozen, 2 and 3 train everything: the resume lands at the phase switch
    # (from checkpoint 1) or after it (from 2), and must end bit for bit where the uninterrupted run ends.
    # Drop path draws one mask per sample and block at every step: the resumed run must draw the masks that
    # the uninterrupted run drew at the same iterations. (Eager steps keep CI short; tests/test_model.py
    # replays masks in a compiled graph.)
    drop_path = {"drop_path_rate": 0.5}
    recipe = micro_recipe(tmp_path / "r.yaml", one_clip, tmp_path / "a", arch=drop_path, fix_iter=2)
    run_cli("train", "--config", str(recipe), check=True)
    full = _history(tmp_path / "a" / "micro")
    assert [h["iteration"] for h in full] == [1, 2, 3]
    assert full[2]["loss"] < full[0]["loss"]  # the same sample, three Adam steps: the loss goes down
    assert [h["frozen"] for h in full] == [True, False, False]

    recipe_b = micro_recipe(tmp_path / "rb.yaml", one_clip, tmp_path / "b", arch=drop_path, fix_iter=2)
    run_b = tmp_path / "b" / "micro"
    _kill9_after_first_checkpoint(recipe_b, run_b)
    resumed = run_cli("train", "--config", str(recipe_b), "--resume", "auto", check=True)
    assert re.search(r"resumed from .*iter_0000000[12]\.ckpt at iteration [12]", resumed.stdout)
    part = {h["iteration"]: h for h in _history(run_b)}  # a re-run iteration overwrites the killed one
    assert sorted(part) == [1, 2, 3]
    assert sorted(p.name for p in (run_b / "checkpoints").iterdir()) == ["iter_00000002.ckpt", "iter_00000003.ckpt"]

    # A checkpoint holds the weights, both Adam states, MindSpore's RNG state and the run's config.
    saved = checkpoint.load(run_b / "checkpoints" / "iter_00000003.ckpt")
    assert saved.iteration == 3 and saved.rng is not None and saved.rng.size > 0
    assert saved.state["config"] == json.loads((run_b / "config.json").read_text())
    assert saved.state["config"]["train"]["fix_iter"] == 2 and saved.state["seed"] == 0
    assert {k.split("/")[0] for k in saved.optimizer} == {"opt_main", "opt_fixed"}
    assert any(k.startswith("opt_main/moment1") for k in saved.optimizer)
    # Resuming with another global batch would replay other samples: refused, naming the key.
    refused = run_cli("train", "--config", str(recipe_b), "--resume", "auto", "--set", "train.iterations=4",
                      "--set", "data.train.batch_size=2")
    assert refused.returncode == 1
    assert (f"vrt-trainer: error: {run_b / 'checkpoints' / 'iter_00000003.ckpt'}: saved with "
            "data.train.batch_size=1, this run has 2") in refused.stderr

    # The trained checkpoint is a model file: eval runs validation on the held-out clip alone.
    ev = run_cli("eval", "--config", str(recipe), "--checkpoint", str(run_b / "checkpoints" / "iter_00000003.ckpt"),
                 check=True)
    assert re.search(r"^psnr \d+\.\d+$", ev.stdout, re.M)
    for h in full:  # same iterations, same learning rates for both groups
        assert part[h["iteration"]]["lr"] == h["lr"] and part[h["iteration"]]["lr_fixed"] == h["lr_fixed"]
    # Every step, resumed or not, sees the same weights, Adam state, rates and sample: the same loss, and the
    # same weights and optimiser state at the end, bit for bit (each iteration's rate reaches Adam in place).
    assert [part[i]["loss"] for i in (1, 2, 3)] == [h["loss"] for h in full]
    a = checkpoint.load(tmp_path / "a" / "micro" / "checkpoints" / "iter_00000003.ckpt")
    differ = _different_tensors(a, saved)
    assert not differ, f"{len(differ)} tensors differ after resume, e.g. {differ[:3]}"
    # The masks were drawn: the generator (seed, offset) is saved, its offset advanced by the same count each step.
    seed_2, drawn_2 = np.frombuffer(checkpoint.load(run_b / "checkpoints" / "iter_00000002.ckpt").drop_path_rng,
                                    np.int64)
    seed_3, drawn_3 = np.frombuffer(saved.drop_path_rng, np.int64)
    assert seed_2 == seed_3 == 0 and drawn_3 > 0 and drawn_3 * 2 == drawn_2 * 3
    assert np.array_equal(a.drop_path_rng, saved.drop_path_rng)


def test_msrun_two_workers_share_the_batch(one_clip, tmp_path):
    data = make_mini_reds(tmp_path / "two", clips=2, frames=2)
    recipe = micro_recipe(tmp_path / "r.yaml", data, tmp_path / "exp", iterations=2, fix_iter=0)
    raw = recipe.read_text().replace("batch_size: 1", "batch_size: 2")
    recipe.write_text(raw)
    logs = tmp_path / "msrun_logs"
    cmd = [str(VENV_BIN / "msrun"), "--worker_num=2", "--local_worker_num=2", f"--master_port={free_port()}",
           f"--log_dir={logs}", "--join=True", str(VENV_BIN / "vrt-trainer"), "train", "--config", str(recipe)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=580)
    worker = [(logs / f"worker_{r}.log").read_text() for r in (0, 1)]
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:] + worker[0][-2000:] + worker[1][-2000:]
    pattern = r"rank (\d)/2 finished at iteration 2: weights sha1 (\w+), samples sha1 (\w+)"
    done = [re.search(pattern, w) for w in worker]
    assert all(done), worker
    assert done[0].group(2) == done[1].group(2)  # all-reduced gradients: identical weights
    assert done[0].group(3) != done[1].group(3)  # each rank drew its own half of the global batch
    assert "batch 2 (1 per worker x 2)" in worker[0]
    assert "iter        2/2" in worker[0] and "iter" not in worker[1].split("finished")[0].split("rank 1/2")[0]
    run_dir = tmp_path / "exp" / "micro"
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == ["iter_00000001.ckpt", "iter_00000002.ckpt"]
    # Rank 1 writes nothing: one history line per iteration, each log line once.
    assert [h["iteration"] for h in _history(run_dir)] == [1, 2]
    log_lines = [line.split(" ", 1)[1] for line in (run_dir / "train.log").read_text().splitlines()]
    assert len(log_lines) == len(set(log_lines)) and sum("iter        2/2" in line for line in log_lines) == 1

    # Two "machines" that do not share the output folder: rank 1 sees none of rank 0's checkpoints. Every
    # rank must stop with a clear error instead of rank 0 resuming at 2 and rank 1 starting at 0.
    # msrun starts a Python script per worker, so the "second machine" is a script that picks its folder.
    wrapper = tmp_path / "two_machines.py"
    wrapper.write_text(
        "import os, sys\n"
        "from trainer.cli import main\n"
        f"out = {str(tmp_path / 'machine2')!r} if os.environ.get('DEVICE_ID') == '1' else {str(tmp_path / 'exp')!r}\n"
        f"sys.exit(main(['train', '--config', {str(recipe)!r}, '--set', 'output=' + out, "
        "'--set', 'train.iterations=3', '--resume', 'auto']))\n"
    )
    logs2 = tmp_path / "msrun_logs2"
    cmd = [str(VENV_BIN / "msrun"), "--worker_num=2", "--local_worker_num=2", f"--master_port={free_port()}",
           f"--log_dir={logs2}", "--join=True", str(wrapper)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=580)
    worker = "\n".join((logs2 / f"worker_{r}.log").read_text() for r in (0, 1))
    assert proc.returncode != 0
    lost = tmp_path / "machine2" / "micro" / "checkpoints" / "iter_00000002.ckpt"
    assert (f"vrt-trainer: error: rank 1: {lost}: no such checkpoint (rank 0 resumes from iteration 2; "
            "the output folder must be shared by all machines)") in worker, worker[-3000:]
    assert "vrt-trainer: error: rank 0: another rank could not read the checkpoint" in worker
    assert [h["iteration"] for h in _history(run_dir)] == [1, 2]  # nothing trained


def test_graph_mode_training_compiles_both_phases(one_clip, tmp_path):
    # The recipes train in graph mode: every function the step reaches must compile (no imports inside, etc.).
    recipe = micro_recipe(tmp_path / "r.yaml", one_clip, tmp_path / "g", iterations=2, fix_iter=2, graph=True)
    proc = run_cli("train", "--config", str(recipe), check=True)
    history = _history(tmp_path / "g" / "micro")
    assert [(h["iteration"], h["frozen"]) for h in history] == [(1, True), (2, False)]
    assert all(np.isfinite(h["loss"]) and h["loss"] > 0 for h in history)
    assert "graph=True" in proc.stdout + proc.stderr


def test_amp_skips_overflowing_steps_and_keeps_model_files(one_clip, tmp_path):
    # Real float16 on this CPU: MindSpore's "auto" mixed precision runs convolutions and matmuls in fp16.
    import mindspore as ms

    from trainer.config import load_config
    from trainer.loop import TrainStep, to_tensor
    from trainer.run import build_model
    from trainer.validate import load_val_clips, validate
    from vrt_engine import load_model

    recipe = micro_recipe(tmp_path / "r.yaml", one_clip, tmp_path / "amp", fix_iter=0, amp="on",
                          loss_scale=2.0**40)
    cfg = load_config(recipe)
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_device("CPU")
    model = ms.amp.auto_mixed_precision(build_model(cfg, print), "auto")
    names = [n for n, _ in model.parameters_and_names()]
    step = TrainStep(model, cfg, amp=True)
    from trainer.data.train_clips import TrainClips

    lq, gt = (to_tensor(a[None]) for a in TrainClips(cfg.data.train, 4, 0, 1)[0])
    before = {n: p.asnumpy().copy() for n, p in model.parameters_and_names()}
    loss, updated = step(lq, gt, frozen=False)
    assert not updated  # 2**40 overflows float16 gradients: the step is skipped ...
    assert all(np.array_equal(p.asnumpy(), before[n]) for n, p in model.parameters_and_names())
    assert step.loss_scale() == 2.0**39  # ... and the scale halves
    assert int(step.opt_main.global_step.asnumpy()[0]) == 0
    step.scaler.scale_value.set_data(ms.Tensor(1024.0, ms.float32))
    loss, updated = step(lq, gt, frozen=False)
    assert updated and np.isfinite(loss) and loss > 0
    assert any(not np.array_equal(p.asnumpy(), before[n]) for n, p in model.parameters_and_names())
    state = dict(step.optimizer_state())
    assert float(state["amp/scale_value"].asnumpy()) == 1024.0
    # An amp checkpoint keeps the model's own parameter names: vrt_engine loads it as a model file.
    path = checkpoint.save(tmp_path / "ck", 2, model, cfg.model.arch, step.optimizer_state(), {"iteration": 2}, 1)
    loaded = load_model(path)
    assert [n for n, _ in loaded.parameters_and_names()] == names
    assert checkpoint.load(path).optimizer["amp/scale_value"] == 1024.0
    result = validate(model, cfg, load_val_clips(cfg))  # validation runs on the amp network
    assert np.isfinite(result["psnr"]) and result["psnr"] > 5
