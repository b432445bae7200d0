"""bench/device_check.py's CPU dry run: every step runs, and the JSON holds each step's figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_device_check_dry_run_writes_every_step_to_its_json(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "device_check.py"), str(tmp_path / "out"), "--cpu-dry-run"],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    results = json.loads((tmp_path / "out" / "device_check.json").read_text())
    bad = [k for k, v in results.items() if isinstance(v, dict) and v.get("ok") is False]
    assert bad == [], results
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert results["devices"][0] == "cpu" and results["dry_run"] is True
    assert not [k for k in results if k.endswith("_error")], results
    for key in ("alignment_parity_float32", "alignment_parity_float16", "job"):
        assert results[key]["ok"], results[key]
    assert results["alignment_parity_float16"]["rmse"] <= 2e-3
    # the whole accelerator form against the stored CPU outputs (bench/parity.py dump-cpu)
    for precision in ("float32", "float16"):
        parity = results[f"model_parity_micro_{precision}"]
        assert parity["form"] == "accelerator" and parity["precision"] == precision
        assert 0 < parity["rmse"] < 1 and parity["ok"] == (parity["rmse"] <= {"float32": 1e-4}.get(precision, 2e-3))
    assert results["model_parity_micro_float16"]["rmse"] <= 2e-3  # the budget on the CPU (bench/parity.py)
    assert results["forward_micro"]["steady_s"] > 0 and results["forward_micro"]["peak_bytes"] > 0
    assert results["training"]["finite"] and len(results["training"]["losses"]) == 1
    assert "alignment_parity_float16" in proc.stdout  # the table
