"""The trainer's first contact: a recipe's data checked before the first step, one line per problem.

Real PNG trees from `vrt-trainer make-synthetic` (160x160, LQ 40x40: the micro VRT's smallest; and the
issue's 128x128 with the tiny recipe) and the real CLI in a subprocess.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from trainer_fixtures import make_mini_reds, micro_recipe, run_cli


@pytest.fixture(scope="module")
def reds160(tmp_path_factory) -> Path:
    return make_mini_reds(tmp_path_factory.mktemp("reds160") / "reds", clips=2, frames=3, size="160x160")


@pytest.fixture
def data(reds160, tmp_path) -> Path:
    """A private copy each test may break."""
    return Path(shutil.copytree(reds160, tmp_path / "reds"))


def _errors(proc) -> list[str]:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("vrt-trainer: error:")]


def _train_once(recipe: Path):
    return run_cli("train", "--config", str(recipe), timeout=300)


def _one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vrt-trainer: error: ")
    return lines[0]


def test_tiny_recipe_on_a_128_set_says_the_crop_is_larger_than_the_lq(tmp_path):
    """The issue's case: make-synthetic --size 128x128 (LQ 32x32) with tiny_cpu.yaml's 64-pixel LQ crop."""
    data = make_mini_reds(tmp_path / "reds", clips=2, frames=3, size="128x128")
    sets = [f"data.train.dataroot_gt={data / 'train_sharp'}",
            f"data.train.dataroot_lq={data / 'train_sharp_bicubic/X4'}",
            f"data.val.dataroot_gt={data / 'val_sharp'}", f"data.val.dataroot_lq={data / 'val_sharp_bicubic/X4'}",
            f"output={tmp_path / 'out'}"]
    recipe = Path(__file__).resolve().parents[1] / "trainer" / "configs" / "tiny_cpu.yaml"
    proc = run_cli("train", "--config", str(recipe), *[a for s in sets for a in ("--set", s)], timeout=300)
    line = _one_line(proc)
    assert "data.train.gt_size" in line and "LQ 32x32 is smaller than the crop 64" in line
    assert str(data / "train_sharp_bicubic" / "X4") in line
    assert not (tmp_path / "out").exists()


def test_lq_smaller_than_the_crop_names_the_key_and_the_clip(data, tmp_path):
    recipe = micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")
    raw = yaml.safe_load(recipe.read_text())
    raw["data"]["train"]["gt_size"] = 256  # LQ crop 64 on LQ frames of 40x40
    recipe.write_text(yaml.safe_dump(raw))
    line = _one_line(_train_once(recipe))
    assert "data.train.gt_size" in line and "LQ 40x40 is smaller than the crop 64" in line
    assert str(data / "train_sharp_bicubic" / "X4") in line
    assert not (tmp_path / "out").exists()


def test_missing_dataroot_names_the_key_and_the_path(data, tmp_path):
    recipe = micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")
    raw = yaml.safe_load(recipe.read_text())
    raw["data"]["train"]["dataroot_lq"] = str(tmp_path / "no_such_lq")
    recipe.write_text(yaml.safe_dump(raw))
    line = _one_line(_train_once(recipe))
    assert "data.train.dataroot_lq" in line and str(tmp_path / "no_such_lq") in line and "not found" in line


def test_gt_and_lq_of_different_clip_lists(data, tmp_path):
    lq = data / "train_sharp_bicubic" / "X4"
    shutil.rmtree(lq / "001")
    line = _one_line(_train_once(micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")))
    assert "data.train.dataroot_lq" in line and str(lq) in line and "001" in line
    assert (data / "train_sharp" / "001").is_dir()  # inputs untouched


def test_a_frame_missing_in_the_middle_of_a_clip(data, tmp_path):
    gap = data / "train_sharp" / "000" / "00000001.png"
    gap.unlink()
    line = _one_line(_train_once(micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")))
    assert "data.train.dataroot_gt" in line and str(gap) in line and "missing" in line


@pytest.mark.parametrize("data_section", [{}, {"train": {}}, {"train": {"dataroot_gt": "x"}}])
def test_empty_data_section_names_the_missing_keys(tmp_path, data_section):
    recipe = tmp_path / "empty.yaml"
    recipe.write_text(yaml.safe_dump({"name": "e", "output": str(tmp_path / "out"), "data": data_section}))
    line = _one_line(_train_once(recipe))
    assert str(recipe) in line and "data.train.dataroot_lq" in line and "not set" in line
    assert ("data.train.dataroot_gt" in line) == ("dataroot_gt" not in data_section.get("train", {}))


def test_validation_clip_missing_from_lq_names_the_val_key(data, tmp_path):
    shutil.rmtree(data / "val_sharp_bicubic" / "X4" / "000")
    line = _one_line(_train_once(micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")))
    assert "data.val.dataroot_lq" in line and "000" in line


def test_lmdb_crop_larger_than_the_lq(data, tmp_path):
    stores = {}
    for key, folder in (("gt", data / "train_sharp"), ("lq", data / "train_sharp_bicubic" / "X4")):
        stores[key] = tmp_path / f"{key}.lmdb"
        run_cli("make-lmdb", str(folder), str(stores[key]), "--workers", "1", "--quiet", check=True)
    recipe = micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")
    raw = yaml.safe_load(recipe.read_text())
    raw["data"]["train"].update(io_backend="lmdb", dataroot_gt=str(stores["gt"]), dataroot_lq=str(stores["lq"]),
                                gt_size=256)
    recipe.write_text(yaml.safe_dump(raw))
    line = _one_line(_train_once(recipe))
    assert "data.train.gt_size" in line and "smaller than the crop 64" in line and str(stores["lq"]) in line


def test_an_unreadable_frame_found_by_a_dataset_worker_is_one_line(data, tmp_path):
    """The checks read each clip's first frame; a broken later frame is found by a worker while training."""
    bad = data / "train_sharp_bicubic" / "X4" / "000" / "00000002.png"
    bad.write_bytes(b"not a png")
    recipe = micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out", iterations=6)
    raw = yaml.safe_load(recipe.read_text())
    raw["data"]["train"].update(num_workers=2, val_partition="none")
    raw["data"]["val"] = {}
    recipe.write_text(yaml.safe_dump(raw))
    errors = _errors(_train_once(recipe))
    assert errors == [f"vrt-trainer: error: {bad}: missing or not a readable image"]


def test_eval_checks_the_validation_set_first(data, tmp_path):
    """eval names a missing validation folder by its key before it reads any checkpoint."""
    recipe = micro_recipe(tmp_path / "r.yaml", data, tmp_path / "out")
    raw = yaml.safe_load(recipe.read_text())
    raw["data"]["val"]["dataroot_lq"] = str(tmp_path / "no_val_lq")
    recipe.write_text(yaml.safe_dump(raw))
    proc = run_cli("eval", "--config", str(recipe), "--checkpoint", str(tmp_path / "none.ckpt"), timeout=300)
    line = _one_line(proc)
    assert f"{recipe}: data.val.dataroot_lq: {tmp_path / 'no_val_lq'} not found" in line
