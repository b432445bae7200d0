"""Data side of the trainer: MATLAB bicubic, mini-REDS, prepare-reds, LMDB, training clips, recipes."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
from trainer_fixtures import make_mini_reds, run_cli

from trainer.config import ConfigError, load_config, parse_config
from trainer.data.lmdb_store import LmdbFrames, read_meta
from trainer.data.matlab_resize import contributions, cubic, imresize
from trainer.data.train_clips import TrainClips
from trainer.schedule import cosine_restart_lr, group_lrs, is_frozen


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return make_mini_reds(tmp_path_factory.mktemp("reds") / "mini")


# ----- MATLAB imresize -----
def test_cubic_kernel_values():
    assert cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])).tolist() == [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0]


def test_imresize_quarter_by_hand():
    # Shrinking 8 samples by 4: output sample 1 sits at input position u = 1/0.25 + 0.5 * (1 - 4) = 2.5; the
    # kernel is widened to 16 taps, weight(x) = 0.25 * cubic(0.25 * x) for distances x = u - index.
    signal = np.arange(8, dtype=np.float64) * 10.0  # a ramp: 0, 10, ..., 70
    idx = np.arange(-5, 11)  # 1-based taps left = floor(2.5 - 8) = -6 ... MATLAB's P = 18 taps, zeros trimmed
    dist = 2.5 - idx
    w = 0.25 * cubic(0.25 * dist)
    w /= w.sum()
    mirrored = np.concatenate([np.arange(1, 9), np.arange(8, 0, -1)])
    src = mirrored[np.mod(idx - 1, 16)] - 1
    expected0 = float((w * signal[src]).sum())
    out = imresize(signal[:, None], 0.25)[:, 0]
    assert out.shape == (2,)
    assert out[0] == pytest.approx(expected0, abs=1e-12)
    # On a ramp away from the edges the antialiased result is the ramp at u: 10 * (6.5 - 1) = 55.
    assert out[1] == pytest.approx(float(np.dot(*_weights_and_values(signal, 6.5))), abs=1e-12)
    assert not np.isclose(out[0], 15.0)  # the edge mirror pulls the first sample off the plain ramp value


def _weights_and_values(signal, u):
    idx = np.arange(int(np.floor(u - 8)), int(np.floor(u - 8)) + 18)
    w = 0.25 * cubic(0.25 * (u - idx))
    w /= w.sum()
    mirrored = np.concatenate([np.arange(1, 9), np.arange(8, 0, -1)])
    return w, signal[mirrored[np.mod(idx - 1, 16)] - 1]


def test_imresize_constant_and_uint8_rounding():
    flat = np.full((16, 12, 3), 77, np.uint8)
    out = imresize(flat, 0.25)
    assert out.shape == (4, 3, 3) and out.dtype == np.uint8 and (out == 77).all()
    w, i = contributions(16, 4, 0.25)
    assert np.allclose(w.sum(axis=1), 1.0) and i.min() >= 0 and i.max() <= 15


def test_imresize_antialiases_unlike_cv2():
    stripes = np.tile(np.array([0, 255], np.uint8), 32)[None, :].repeat(8, 0)  # 1-pixel stripes
    ours = imresize(stripes, 0.25)
    theirs = cv2.resize(stripes, (16, 2), interpolation=cv2.INTER_CUBIC)
    assert np.ptp(ours[:, 2:-2]) <= 2  # the stripes average out to grey
    assert not np.array_equal(ours, theirs)


# ----- make-synthetic -----
def test_make_synthetic_is_deterministic_and_names_holdout(tmp_path):
    for name in ("a", "b"):
        run_cli("make-synthetic", str(tmp_path / name), "--clips", "2", "--frames", "2", "--size", "64x48",
                "--holdout", "coffee,rocket", check=True)
    manifest = json.loads((tmp_path / "a" / "synthetic.json").read_text())
    assert manifest["holdout"] == ["coffee", "rocket"]
    assert set(manifest["train"].values()).isdisjoint(manifest["holdout"])
    assert sorted(manifest["val"].values()) == ["coffee", "rocket"]
    for rel in ("train_sharp/001/00000001.png", "train_sharp_bicubic/X4/001/00000001.png",
                "val_sharp/001/00000000.png"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    gt = cv2.imread(str(tmp_path / "a/train_sharp/000/00000000.png"))
    lq = cv2.imread(str(tmp_path / "a/train_sharp_bicubic/X4/000/00000000.png"))
    nxt = cv2.imread(str(tmp_path / "a/train_sharp/000/00000001.png"))
    assert gt.shape == (48, 64, 3) and lq.shape == (12, 16, 3)
    assert np.abs(imresize(gt, 0.25).astype(int) - lq.astype(int)).max() <= 1  # BGR/RGB order does not matter
    assert np.abs(gt.astype(int) - nxt.astype(int)).mean() > 1  # the camera moved


def test_make_synthetic_bad_size_is_one_line(tmp_path):
    proc = run_cli("make-synthetic", str(tmp_path / "x"), "--size", "63x64")
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "--size 63x64" in proc.stderr and "Traceback" not in proc.stderr


# ----- prepare-reds -----
def test_prepare_reds_regroups_and_is_idempotent(mini):
    assert sorted(p.name for p in (mini / "train_sharp").iterdir()) == ["000", "001", "240"]
    assert (mini / "train_sharp_bicubic/X4/240/00000002.png").is_file()
    assert (mini / "REDS4/GT/000").resolve() == (mini / "train_sharp/000").resolve()
    meta = (mini / "meta_info_REDS_GT.txt").read_text().splitlines()
    assert meta[0] == "000 3 (160,160,3) 00000000"
    before = {p: p.stat().st_mtime_ns for p in mini.rglob("*.png")}
    proc = run_cli("prepare-reds", str(mini), check=True)
    assert "0 clip folder(s) copied" in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in mini.rglob("*.png")} == before


def test_prepare_reds_refuses_other_folders(tmp_path):
    (tmp_path / "photos").mkdir()
    proc = run_cli("prepare-reds", str(tmp_path / "photos"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"vrt-trainer: error: {tmp_path / 'photos'}: not a REDS folder " \
        "(expected train_sharp/000/00000000.png ...; see trainer/README.md)"


# ----- LMDB -----
def test_make_lmdb_round_trips_bytes_and_writes_basicsr_meta(mini, tmp_path):
    dst = tmp_path / "gt.lmdb"
    proc = run_cli("make-lmdb", str(mini / "train_sharp"), str(dst), "--workers", "2", check=True)
    assert "9 frames" in proc.stdout and "9/9" in proc.stderr  # progress bar
    assert sorted(p.name for p in dst.iterdir()) == ["data.mdb", "lock.mdb", "meta_info.txt"]
    assert not list(tmp_path.glob(".*partial*"))
    lines = (dst / "meta_info.txt").read_text().splitlines()
    assert lines[0] == "000/00000000.png (160,160,3) 1" and len(lines) == 9
    store = LmdbFrames(dst)
    for key, _ in read_meta(dst):
        png = mini / "train_sharp" / f"{key}.png"
        decoded = cv2.imdecode(np.frombuffer(store.get_bytes(key), np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(decoded, cv2.imread(str(png), cv2.IMREAD_UNCHANGED))  # pixel-identical frame
    # Re-encoding at the same level gives the same bytes, as BasicSR's writer would store them.
    img = cv2.imread(str(mini / "train_sharp/001/00000002.png"), cv2.IMREAD_UNCHANGED)
    assert store.get_bytes("001/00000002") == cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    again = run_cli("make-lmdb", str(mini / "train_sharp"), str(dst))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_reads_a_store_written_the_basicsr_way(mini, tmp_path):
    # BasicSR/KAIR's make_lmdb_from_imgs: keys 'clip/frame', PNG level 1, meta 'name.png (h,w,c) 1'.
    store = tmp_path / "theirs.lmdb"
    env = lmdb.open(str(store), map_size=1 << 26)
    lines = []
    with env.begin(write=True) as txn:
        for png in sorted((mini / "train_sharp_bicubic/X4").rglob("*.png")):
            key = f"{png.parent.name}/{png.stem}"
            img = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
            txn.put(key.encode("ascii"), cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes())
            lines.append(f"{key}.png ({img.shape[0]},{img.shape[1]},3) 1\n")
    env.close()
    (store / "meta_info.txt").write_text("".join(lines))
    frames = LmdbFrames(store)
    rgb = frames.get_rgb("240/00000001")
    png = cv2.imread(str(mini / "train_sharp_bicubic/X4/240/00000001.png"))
    assert np.array_equal(rgb, png[..., ::-1])


# ----- training clips -----
def _train_cfg(mini, **kw):
    raw_cfg = load_config(_recipe(mini)).data.train
    for k, v in kw.items():
        setattr(raw_cfg, k, v)
    return raw_cfg


def _recipe(mini):
    path = mini.parent / "recipe.yaml"
    if not path.exists():
        from trainer_fixtures import micro_recipe

        micro_recipe(path, mini, mini.parent / "exp")
    return path


def test_clips_are_aligned_augmented_and_deterministic(mini):
    cfg = _train_cfg(mini, gt_size=64, use_hflip=True, use_rot=True, num_frame=2, batch_size=2)
    clips = TrainClips(cfg, 4, seed=3, length=8)
    assert {k.clip for k in clips.keys} == {"000", "001"}  # 240 is the held-out ('official') clip
    lq, gt = clips[0]
    assert lq.shape == (2, 3, 16, 16) and gt.shape == (2, 3, 64, 64) and lq.dtype == np.float32
    again = TrainClips(cfg, 4, seed=3, length=8)
    assert all(np.array_equal(clips[i][1], again[i][1]) for i in range(4))
    for i in range(6):  # the LQ crop is the antialiased downscale of the GT crop (up to edges and rounding)
        lq, gt = clips[i]
        down = imresize(gt[0].transpose(1, 2, 0).astype(np.float64), 0.25)
        assert np.abs(down[2:-2, 2:-2] - lq[0].transpose(1, 2, 0)[2:-2, 2:-2]).max() < 0.03
    other = TrainClips(cfg, 4, seed=4, length=8)
    assert any(not np.array_equal(clips[i][1], other[i][1]) for i in range(4))


def test_ranks_split_one_global_stream(mini):
    cfg = _train_cfg(mini, gt_size=64, batch_size=2)
    single = TrainClips(cfg, 4, seed=1, length=6)
    ranks = [TrainClips(cfg, 4, seed=1, length=3, rank=r, world=2) for r in (0, 1)]
    for it in range(3):
        for r in (0, 1):
            assert np.array_equal(ranks[r][it][1], single[2 * it + r][1])
    resumed = TrainClips(cfg, 4, seed=1, length=2, start_iteration=1)
    assert np.array_equal(resumed[0][1], single[2][1])
    with pytest.raises(ValueError, match="does not split across 3 workers"):
        TrainClips(cfg, 4, seed=1, length=1, rank=0, world=3)


# ----- schedule -----
def test_cosine_restarts_matches_torch_closed_form():
    assert cosine_restart_lr(0, 4e-4, 300000, 1e-7) == pytest.approx(4e-4)
    assert cosine_restart_lr(150000, 4e-4, 300000, 1e-7) == pytest.approx((4e-4 + 1e-7) / 2)
    assert cosine_restart_lr(299999, 4e-4, 300000, 1e-7) == pytest.approx(1e-7, abs=1e-12)
    assert cosine_restart_lr(300000, 4e-4, 300000, 1e-7) == pytest.approx(4e-4)  # restart
    assert cosine_restart_lr(30, 1.0, 10, 0.0, t_mult=2) == pytest.approx(1.0)  # periods 10, 20: restart at 30
    cfg = load_config("trainer/configs/001_train_vrt_videosr_bi_reds_6frames.yaml").train
    main, fixed = group_lrs(1, cfg)
    assert main == pytest.approx(4e-4, rel=1e-9) and fixed == pytest.approx(4e-4 * 0.125, rel=1e-9)
    assert is_frozen(19999, cfg) and not is_frozen(20000, cfg)


# ----- recipes -----
def test_published_recipes_carry_kair_values():
    for name, frames in (("001_train_vrt_videosr_bi_reds_6frames", 6), ("002_train_vrt_videosr_bi_reds_12frames", 12)):
        cfg = load_config(f"trainer/configs/{name}.yaml")
        t = cfg.train
        assert (cfg.data.train.batch_size, t.lr, t.betas, t.periods, t.eta_min, t.iterations) == (
            8, 4e-4, [0.9, 0.99], 300000, 1e-7, 300000)
        assert (t.charbonnier_eps, t.fix_iter, t.fix_lr_mul, t.fix_keys) == (1e-9, 20000, 0.125, ["spynet", "deform"])
        assert (cfg.val.num_frame_testing, cfg.val.num_frame_overlapping, cfg.val.size_patch_testing) == (40, 2, 128)
        assert cfg.data.train.num_frame == frames and cfg.data.train.gt_size == 256
    assert load_config("trainer/configs/tiny_cpu.yaml").model.preset == "tiny"


def test_bad_keys_and_types_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.lrr: unknown key"):
        load_config("trainer/configs/tiny_cpu.yaml", ["train.lrr=1"])
    with pytest.raises(ConfigError, match=r"data\.train\.num_frame: expected an integer, got 'six'"):
        load_config("trainer/configs/tiny_cpu.yaml", ["data.train.num_frame=six"])
    assert load_config("trainer/configs/tiny_cpu.yaml", ["train.lr=1e-3"]).train.lr == 1e-3
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: {preset: tiny}\ntrain: {betas: [0.9, oops]}\n")
    proc = run_cli("train", "--config", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"vrt-trainer: error: {bad}: train.betas[1]: expected a number, got 'oops'"


def test_missing_dataset_is_one_line(tmp_path):
    proc = run_cli("train", "--config", "trainer/configs/tiny_cpu.yaml", "--set", f"output={tmp_path}",
                   "--set", f"data.train.dataroot_gt={tmp_path}/nowhere", "--set", "train.graph=false")
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("vrt-trainer")]
    # checked before any step, naming the recipe and the key (dataroot_lq may be missing here too)
    assert lines[0] == (f"vrt-trainer: error: trainer/configs/tiny_cpu.yaml: data.train.dataroot_gt: "
                        f"{tmp_path}/nowhere not found")
    assert "Traceback" not in proc.stderr


# ----- device per msrun worker -----
def test_worker_device_resolves_auto_before_adding_the_card():
    from trainer.run import worker_device

    assert worker_device("auto", "gpu", "3") == "gpu:3"  # was gpu (card 0) for every worker
    assert worker_device("auto", "ascend", "7") == "ascend:7"
    assert worker_device("auto", "cpu", "1") == "cpu"
    assert worker_device("GPU", "", "2") == "gpu:2"
    assert worker_device("gpu:5", "", "2") == "gpu:5"  # an explicit card is kept
    assert worker_device("auto", "gpu", None) == "gpu"  # not under msrun


# ----- recipes agree with the data tools -----
def _readme_data_commands() -> list[list[str]]:
    text = (Path(__file__).resolve().parents[1] / "trainer" / "README.md").read_text()
    block = text.split("## Data", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].split()[1:] for line in block.splitlines() if line.startswith("vrt-trainer ")]


def test_recipe_paths_are_what_the_readme_data_steps_create(tmp_path, monkeypatch):
    # The README's data steps, run literally in a folder whose trainsets/REDS is a raw (generated) REDS ...
    run_cli("make-synthetic", str(tmp_path / "trainsets" / "REDS"), "--clips", "2", "--frames", "3", "--size",
            "160x160", check=True)
    commands = _readme_data_commands()
    assert [c[0] for c in commands] == ["prepare-reds", "make-lmdb", "make-lmdb"]
    for args in commands:
        run_cli(*args, *(["--quiet"] if args[0] == "make-lmdb" else []), check=True, cwd=tmp_path)
    # ... make every path the published recipes name, relative to that folder: LMDB training, REDS4 validation.
    monkeypatch.chdir(tmp_path)
    from trainer.validate import load_val_clips

    for name in ("001_train_vrt_videosr_bi_reds_6frames", "002_train_vrt_videosr_bi_reds_12frames"):
        recipe = Path(__file__).resolve().parents[1] / "trainer" / "configs" / f"{name}.yaml"
        cfg = load_config(recipe, ["data.train.num_frame=2", "data.train.gt_size=128"])
        d, v = cfg.data.train, cfg.data.val
        for path in (d.dataroot_gt, d.dataroot_lq, d.meta_info_file, v.dataroot_gt, v.dataroot_lq):
            assert path.startswith("trainsets/REDS/") and Path(path).exists(), f"{name}: {path}"
        clips = TrainClips(d, 4, seed=0, length=2)
        assert {k.clip for k in clips.keys} == {"001", "240"}  # REDS4's 000 is held out
        lq, gt = clips[0]
        assert lq.shape == (2, 3, 32, 32) and gt.shape == (2, 3, 128, 128)
        assert [c.name for c in load_val_clips(cfg)] == ["000"]  # of REDS4, the mini set has clip 000 only
    # Training clips read from the LMDB stores are the clips read from the PNG folders.
    disk = copy.copy(d)
    disk.io_backend, disk.meta_info_file = "disk", None
    disk.dataroot_gt, disk.dataroot_lq = "trainsets/REDS/train_sharp", "trainsets/REDS/train_sharp_bicubic/X4"
    from_disk = TrainClips(disk, 4, seed=0, length=2)
    assert from_disk.keys == clips.keys
    for k in range(2):
        assert all(np.array_equal(a, b) for a, b in zip(clips[k], from_disk[k]))


# ----- interval_list -----
def test_interval_list_spaces_the_window(tmp_path):
    data = make_mini_reds(tmp_path / "long", clips=1, frames=8, size="64x64")
    cfg = _train_cfg(data, gt_size=64, num_frame=2, interval_list=[1, 2, 3], val_partition="none")
    clips = TrainClips(cfg, 4, seed=0, length=40)
    seen = set()
    for position in range(40):
        key, indices, _ = clips.window(position)
        step = indices[1] - indices[0]
        seen.add(step)
        assert len(indices) == 2 and 0 <= indices[0] and indices[-1] <= 7
        gt = clips.sample(position)[1]  # full-frame crop, no flips: the frames at those numbers
        for t, i in enumerate(indices):
            png = cv2.imread(str(data / "train_sharp" / key.clip / f"{i:08d}.png"))[..., ::-1]
            assert np.array_equal((gt[t].transpose(1, 2, 0) * 255).round().astype(np.uint8), png)
    assert seen == {1, 2, 3}


# ----- config ranges and resume checks -----
@pytest.mark.parametrize("override, message", [
    ("train.lr=0", "train.lr: must be above 0, got 0.0"),
    ("train.eta_min=-1e-7", "train.eta_min: must be 0 or more, got -1e-07"),
    ("train.fix_lr_mul=-0.5", "train.fix_lr_mul: must be 0 or more, got -0.5"),
    ("train.fix_iter=-1", "train.fix_iter: must be 0 or more, got -1"),
    ("data.train.num_workers=-2", "data.train.num_workers: must be 0 or more, got -2"),
    ("train.betas=[0.9,1.5]", r"train.betas\[1\]: must be in \[0, 1\), got 1.5"),
    ("train.loss_scale=0.5", "train.loss_scale: must be at least 1, got 0.5"),
    ("data.val.max_frames=0", "data.val.max_frames: must be at least 1"),
])
def test_out_of_range_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=f"tiny_cpu.yaml: {message}"):
        load_config("trainer/configs/tiny_cpu.yaml", [override])


def test_resume_refuses_a_changed_batch_or_seed_and_lists_other_changes():
    from trainer.checkpoint import compare_configs
    from trainer.config import to_dict

    saved = to_dict(load_config("trainer/configs/tiny_cpu.yaml"))
    same = to_dict(load_config("trainer/configs/tiny_cpu.yaml", ["output=/elsewhere"]))
    assert compare_configs(saved, same) == ([], [])
    changed = to_dict(load_config("trainer/configs/tiny_cpu.yaml", [
        "data.train.batch_size=4", "train.seed=1", "train.lr=1e-4"]))
    refused, other = compare_configs(saved, changed)
    assert refused == [("data.train.batch_size", 2, 4), ("train.seed", 0, 1)]
    assert other == [("train.lr", 4e-4, 1e-4)]


# ----- make-lmdb: map size, interruption -----
def test_map_size_from_raw_bytes_and_grows_when_full(mini, tmp_path, monkeypatch):
    from trainer.data import lmdb_store

    assert lmdb_store.estimate_map_size((720, 1280, 3), 1000) >= 720 * 1280 * 3 * 1000
    monkeypatch.setattr(lmdb_store, "estimate_map_size", lambda shape, count: 1 << 16)  # far too small
    monkeypatch.setattr(lmdb_store, "COMMIT_EVERY", 4)
    n = lmdb_store.write_lmdb(mini / "train_sharp", tmp_path / "grown.lmdb", workers=1, progress=False)
    assert n == 9
    store = LmdbFrames(tmp_path / "grown.lmdb")
    assert sorted(store.keys()) == [k for k, _ in read_meta(tmp_path / "grown.lmdb")]
    assert all(store.get_bytes(k) for k in store.keys())


@pytest.fixture(scope="module")
def slow_src(tmp_path_factory):
    """120 links to one noisy 1024x1024 frame: PNG encoding takes seconds, long enough to interrupt."""
    src = tmp_path_factory.mktemp("big") / "frames"
    (src / "000").mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    cv2.imwrite(str(src / "000" / "00000000.png"), noise)
    for i in range(1, 120):
        (src / "000" / f"{i:08d}.png").symlink_to(src / "000" / "00000000.png")
    return src


def _start_make_lmdb(src, dst):
    from trainer_fixtures import VENV_BIN, env

    return subprocess.Popen([str(VENV_BIN / "vrt-trainer"), "make-lmdb", str(src), str(dst), "--workers", "1",
                             "--quiet"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_partial(proc, dst, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if list(dst.parent.glob(f".{dst.name}.partial-*/data.mdb")):
            time.sleep(1.0)  # into the encoding loop
            return
        time.sleep(0.02)
    raise AssertionError(f"make-lmdb never got going: {proc.poll()} {proc.communicate()}")


def _store_items(path):
    store = LmdbFrames(path)
    return {k: store.get_bytes(k) for k in store.keys()}, (path / "meta_info.txt").read_text()


@pytest.mark.slow
def test_make_lmdb_ctrl_c_stops_promptly_and_sigkill_leftovers_are_cleaned(slow_src, tmp_path):
    dst = tmp_path / "out.lmdb"
    # Ctrl-C: the terminal signals the whole process group (the parent and its encoding workers).
    proc = _start_make_lmdb(slow_src, dst)
    _wait_for_partial(proc, dst)
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.time()
    _, err = proc.communicate(timeout=60)
    stopped_after = time.time() - sent
    assert proc.returncode == 130 and err.strip().endswith("vrt-trainer: interrupted"), err
    assert stopped_after < 10, f"took {stopped_after:.1f} s to stop"
    assert not dst.exists() and not list(tmp_path.glob(".*partial*"))
    # kill -9: the hidden partial folder stays behind, the next run removes it and writes the whole store.
    proc = _start_make_lmdb(slow_src, dst)
    _wait_for_partial(proc, dst)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    left = list(tmp_path.glob(".*partial*"))
    assert len(left) == 1 and not dst.exists()
    run_cli("make-lmdb", str(slow_src), str(dst), "--quiet", check=True)
    assert not list(tmp_path.glob(".*partial*"))
    # Complete and byte-identical to an uninterrupted run: every frame is the one source frame encoded at level 1.
    img = cv2.imread(str(slow_src / "000" / "00000000.png"), cv2.IMREAD_UNCHANGED)
    png = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    values, meta = _store_items(dst)
    assert sorted(values) == [f"000/{i:08d}" for i in range(120)] and set(values.values()) == {png}
    assert meta == "".join(f"000/{i:08d}.png (1024,1024,3) 1\n" for i in range(120))


# ----- SpyNet weights -----
def _micro_cfg(tmp_path, **model):
    from trainer_fixtures import MICRO_ARCH

    raw = {"name": "m", "model": {"preset": None, "arch": MICRO_ARCH, **model}}
    return parse_config(raw, "test")


def test_spynet_pth_initialises_spynet_and_its_absence_warns(tmp_path):
    from trainer.run import build_model
    from vrt_engine.torchfile import write_state_dict
    from vrt_engine.weights import parameter_shapes

    rng = np.random.default_rng(0)
    shapes = parameter_shapes(build_model(_micro_cfg(tmp_path, pretrained=None), print))
    state = {k[len("spynet."):]: rng.standard_normal(s).astype(np.float32)
             for k, s in shapes.items() if k.startswith("spynet.")}
    pth = tmp_path / "spynet_sintel_final.pth"
    write_state_dict(pth, state, wrapper="params")  # the layout of the authors' file
    logged = []
    model = build_model(_micro_cfg(tmp_path, spynet_path=str(pth)), logged.append)
    params = dict(model.parameters_and_names())
    assert all(np.array_equal(params[f"spynet.{k}"].asnumpy(), v) for k, v in state.items())
    assert logged == [f"SpyNet initialised from {pth}"]
    with pytest.warns(UserWarning, match="no model.spynet_path: SpyNet trains from scratch"):
        build_model(_micro_cfg(tmp_path), logged.append)
    assert logged[-1].startswith("warning: no model.spynet_path")
    write_state_dict(tmp_path / "other.pth", {"conv.weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(ValueError, match=r"other\.pth: not a SpyNet state dict"):
        build_model(_micro_cfg(tmp_path, spynet_path=str(tmp_path / "other.pth")), print)
