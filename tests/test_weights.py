"""Weight import: the authors' .pth layout read without torch, mapped name by name, checked shape by shape."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")

from conftest import MICRO_ARCH  # noqa: E402

from vrt_engine import load_model  # noqa: E402
from vrt_engine.model import build_model  # noqa: E402
from vrt_engine.torchfile import write_state_dict  # noqa: E402
from vrt_engine.weights import WeightsError, convert_pth, map_torch_state, parameter_shapes  # noqa: E402


def _as_reference_state(model, rng) -> dict[str, np.ndarray]:
    """Our parameters renamed the way the reference's state_dict names them, with random values,
    plus the buffers the reference stores (which we recompute)."""
    state = {}
    for name, param in model.parameters_and_names():
        key = name.replace(".gamma", ".weight").replace(".beta", ".bias")
        state[key] = rng.standard_normal(param.shape).astype(np.float32) * 0.05
    state["spynet.mean"] = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    state["stage1.residual_group1.blocks.0.attn.relative_position_index"] = np.zeros((128, 128), np.int64)
    return state


@pytest.fixture(scope="module")
def micro_pth(tmp_path_factory):
    rng = np.random.default_rng(0)
    state = _as_reference_state(build_model(MICRO_ARCH), rng)
    path = tmp_path_factory.mktemp("pth") / "micro.pth"
    write_state_dict(path, state, wrapper="params")
    return path, state


def _arch_file(tmp_path):
    import yaml

    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(MICRO_ARCH))
    return path


def test_pth_import_round_trips_every_tensor(micro_pth, tmp_path):
    pth, state = micro_pth
    out = tmp_path / "micro.ckpt"
    convert_pth(pth, out, MICRO_ARCH)
    model = load_model(out)  # the architecture comes from the checkpoint itself
    params = dict(model.parameters_and_names())
    for key, value in state.items():
        if key.endswith(("relative_position_index", "spynet.mean")):
            continue
        name = key if key in params else key.replace(".weight", ".gamma").replace(".bias", ".beta")
        np.testing.assert_array_equal(params[name].asnumpy(), value)


def test_mismatch_lists_missing_unexpected_and_misshaped_keys(micro_pth):
    _, state = micro_pth
    broken = dict(state)
    broken.pop("conv_first.bias")
    broken["extra.weight"] = np.zeros(3, np.float32)
    broken["conv_last.weight"] = np.zeros((1, 2, 3), np.float32)
    with pytest.raises(ValueError) as info:
        map_torch_state(parameter_shapes(build_model(MICRO_ARCH)), broken)
    text = str(info.value)
    assert "missing" in text and "conv_first.bias" in text
    assert "unexpected" in text and "extra.weight" in text
    assert "mis-shaped" in text and "conv_last.weight" in text
    assert "\n" not in text


def _convert(*args):
    return subprocess.run(
        [sys.executable, "-m", "vrt_engine.cli", "convert", *map(str, args)], capture_output=True, text=True
    )


def test_vrt_convert_cli_writes_checkpoint(micro_pth, tmp_path):
    pth, _ = micro_pth
    out = tmp_path / "out.ckpt"
    result = _convert(pth, out, "--arch", _arch_file(tmp_path))
    assert result.returncode == 0, result.stderr
    assert out.is_file()
    again = _convert(pth, out, "--arch", _arch_file(tmp_path))
    assert again.returncode != 0 and "already exists" in again.stderr


def test_vrt_convert_refuses_wrong_architecture_without_partial_output(micro_pth, tmp_path):
    pth, _ = micro_pth
    out = tmp_path / "out.ckpt"
    result = _convert(pth, out, "--preset", "tiny")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "micro.pth" in lines[0] and "does not fit" in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_vrt_convert_refuses_files_that_are_not_checkpoints(tmp_path, content):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(content)
    result = _convert(bad, tmp_path / "out.ckpt", "--preset", "reds_6f")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.pth" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.ckpt").exists()


def test_checkpoint_without_architecture_is_refused(tmp_path):
    plain = tmp_path / "plain.ckpt"
    ms.save_checkpoint(build_model(MICRO_ARCH), str(plain))
    with pytest.raises(WeightsError, match="no architecture"):
        load_model(plain)


def test_vrt_convert_exports_the_model_of_a_training_checkpoint(tmp_path):
    """A training checkpoint (weights + optimiser moments + trainer state) exports to weights and architecture only."""
    import json

    from vrt_engine.model import config_from, config_to_dict
    from vrt_engine.weights import PROVENANCE_KEY, read_checkpoint, save_checkpoint

    cfg = config_from(MICRO_ARCH)
    model = build_model(cfg)
    entries = [{"name": n, "data": p} for n, p in model.parameters_and_names()]
    entries.append({"name": "opt_main/moment1.conv_first.weight", "data": ms.Tensor(np.ones((3, 3), np.float32))})
    training = tmp_path / "iter_00000100.ckpt"
    save_checkpoint(entries, training, config_to_dict(cfg), extra={"trainer_state": json.dumps({"iteration": 100})})

    out = tmp_path / "plain.ckpt"
    result = _convert(training, out, "--note", "tiny_cpu iteration 100")
    assert result.returncode == 0, result.stderr
    arch, arrays = read_checkpoint(out)
    assert arch == config_to_dict(cfg)
    assert set(arrays) == {n for n, _ in model.parameters_and_names()}
    for name, param in model.parameters_and_names():
        np.testing.assert_array_equal(arrays[name], param.asnumpy())
    assert str(ms.load_checkpoint(str(out))[PROVENANCE_KEY]) == "tiny_cpu iteration 100"
    assert load_model(out).cfg == cfg

    wrong = tmp_path / "wrong.ckpt"
    refused = _convert(training, wrong, "--preset", "tiny")
    assert refused.returncode != 0 and "not the preset 'tiny'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not wrong.exists() and not list(tmp_path.glob(".wrong*"))
