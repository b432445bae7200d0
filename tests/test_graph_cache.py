"""The compiled-graph cache: real MindSpore processes filling and loading it (tests/cache_child.py).

Each case runs fresh processes because MindSpore reads its cache folder once per process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from vrt_engine import graph_cache
from vrt_engine.workers import usable_cores

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "cache_child.py"
S1, S2 = "4,64,64", "4,72,72"


def _env(cache: Path, **extra: str) -> dict:
    env = dict(os.environ, VRT_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT), GLOG_v="3")
    env.update(extra)
    return env


def _start(model: Path, out: Path, shapes: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(model), str(out), *shapes], env=env, stdout=subprocess.PIPE, text=True
    )


def _run(model: Path, out: Path, shapes: list[str], env: dict) -> dict:
    proc = _start(model, out, shapes, env)
    stdout, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, stdout
    return json.loads(stdout.strip().splitlines()[-1])


def _key(model: Path, shape: str) -> dict:
    d, h, w = (int(v) for v in shape.split(","))
    return graph_cache.graph_key(model, "cpu", "float32", (1, d, 3, h, w), len(usable_cores()))


def test_two_shapes_in_sequence_then_a_wrong_graph_under_the_second_key(micro_ckpt, tmp_path):
    """The reported failure: a process that compiled (1,4,3,64,64) and then (1,4,3,72,72) must not leave a
    graph another process loads for the second shape; and a wrong graph planted under the second shape's
    key (what MindSpore alone would load) fails to load, is removed and rebuilt with one line, never an error."""
    cache = tmp_path / "cache"
    env = _env(cache)
    first = _run(micro_ckpt, tmp_path / "a.npz", [S1, S2], env)
    assert first["state"] == "miss" and first["notices"] == []
    published = graph_cache.entries(cache)
    assert len(published) == 1 and json.loads((published[0] / "key.json").read_text()) == _key(micro_ckpt, S1)
    assert not list((cache / "tmp").iterdir())

    # plant the 64x64 graph as the 72x72 entry, with a matching manifest: only loading it can tell
    wrong = cache / "graphs" / graph_cache.key_name(_key(micro_ckpt, S2))
    shutil.copytree(published[0], wrong)
    (wrong / "key.json").write_text(json.dumps(_key(micro_ckpt, S2), sort_keys=True))
    (wrong / "manifest.json").write_text(json.dumps(graph_cache._manifest_of(wrong)))
    second = _run(micro_ckpt, tmp_path / "b.npz", [S2], env)
    assert second["state"] == "off"
    assert len(second["notices"]) == 1 and "failed to load" in second["notices"][0], second["notices"]
    assert not wrong.exists()

    third = _run(micro_ckpt, tmp_path / "c.npz", [S1], env)
    assert third["state"] == "hit" and third["notices"] == []
    a, b, c = (np.load(tmp_path / f"{n}.npz") for n in "abc")
    assert np.array_equal(a[S2], b[S2])  # rebuilt graph: same output as compiled fresh
    assert np.array_equal(a[S1], c[S1])  # cached graph: bit for bit the output of the compiled one


def test_two_processes_fill_the_same_entry_at_once(micro_ckpt, tmp_path):
    cache = tmp_path / "cache"
    procs = [_start(micro_ckpt, tmp_path / f"{i}.npz", [S1], _env(cache)) for i in range(2)]
    reports = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, stdout
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    assert [r["state"] for r in reports] == ["miss", "miss"]
    assert all(r["notices"] == [] for r in reports)
    (entry,) = graph_cache.entries(cache)
    assert json.loads((entry / "manifest.json").read_text()) == graph_cache._manifest_of(entry)
    assert not list((cache / "tmp").iterdir())  # the loser's copy is gone
    outs = [np.load(tmp_path / f"{i}.npz")[S1] for i in range(2)]
    assert np.array_equal(outs[0], outs[1])


def test_unusable_or_full_cache_folder_runs_uncached_with_one_line(micro_ckpt, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    unusable = _run(micro_ckpt, tmp_path / "u.npz", [S1], _env(blocker / "cache"))
    assert unusable["state"] == "off"
    assert len(unusable["notices"]) == 1 and "cannot use" in unusable["notices"][0], unusable["notices"]
    full = _run(micro_ckpt, tmp_path / "f.npz", [S1], _env(tmp_path / "full", VRT_CACHE_MIN_FREE_MB=str(1 << 40)))
    assert full["state"] == "off"
    assert len(full["notices"]) == 1 and "MB free" in full["notices"][0], full["notices"]
    assert not graph_cache.entries(tmp_path / "full")
    assert np.array_equal(np.load(tmp_path / "u.npz")[S1], np.load(tmp_path / "f.npz")[S1])


def _fake_entry(root: Path, name: str, size: int, used: float) -> Path:
    entry = root / "graphs" / name
    (entry / "ms").mkdir(parents=True)
    (entry / "ms" / "graph.mindir").write_bytes(b"x" * size)
    (entry / "key.json").write_text("{}")
    os.utime(entry / "key.json", (used, used))
    return entry


def test_eviction_removes_the_oldest_used_entries_first_and_clear_empties(tmp_path):
    now = time.time()
    old = _fake_entry(tmp_path, "old", 1000, now - 300)
    mid = _fake_entry(tmp_path, "mid", 1000, now - 200)
    new = _fake_entry(tmp_path, "new", 1000, now - 100)
    assert graph_cache.entries(tmp_path) == [old, mid, new]
    gone = graph_cache.evict(tmp_path, 2500)
    assert gone == [old] and mid.exists() and new.exists()
    assert graph_cache.evict(tmp_path, 1500, keep=mid) == [new]
    assert graph_cache.clear(tmp_path) >= 1000
    assert graph_cache.entries(tmp_path) == []


def test_a_damaged_entry_is_not_valid(micro_ckpt, tmp_path):
    """A manifest that no longer matches the files (a truncated or changed graph) makes the entry unusable."""
    key = {"shape": [1]}
    slot = graph_cache.GraphSlot(key, root=tmp_path)
    entry = slot.folder
    (entry / "ms").mkdir(parents=True)
    (entry / "ms" / "compile_cache_0.mindir").write_bytes(b"graph bytes")
    (entry / "key.json").write_text(json.dumps(key, sort_keys=True))
    (entry / "manifest.json").write_text(json.dumps(graph_cache._manifest_of(entry)))
    assert slot._valid()
    (entry / "ms" / "compile_cache_0.mindir").write_bytes(b"graph byte")
    assert not slot._valid()


def test_clear_cache_option_empties_the_folder_it_names(tmp_path, capsys, monkeypatch):
    from vrt_engine.cli_upscale import upscale_main

    monkeypatch.setenv(graph_cache.ENV_DIR, str(tmp_path / "cache"))  # restored after: the option sets it
    entry = _fake_entry(tmp_path / "cache", "one", 2 << 20, time.time())
    assert upscale_main(["--clear-cache", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert not entry.exists()
    assert "removed 2 MB" in capsys.readouterr().out
