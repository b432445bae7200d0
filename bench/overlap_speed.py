"""Seconds per frame, model pixels per output pixel and peak memory: this tree against an older commit.

    .venv/bin/python bench/overlap_speed.py                      # tiny, 640x360, 2 workers, against HEAD~1
    .venv/bin/python bench/overlap_speed.py --base main --rounds 2 --size 320x180

Issue 23's proof: the automatic plan of the built-in model on a long 640x360 video, for this change
and for the commit before it, in the same run, so that the shared machine's load hits both alike.
The old commit is checked out once as a git worktree (``/tmp/vrt-base-<commit>``) and each row runs
bench/workers_speed.py's measurement in a fresh process with PYTHONPATH pointing at one tree; rows
alternate (this, base, this, base, ...). "work" is the model pixel-frames per output pixel-frame of
the plan (tiling.plan_work); "s/frame" is one chunk's time over the frames a long video advances
per chunk; "peak GB" is the summed resident memory of the process and its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def base_tree(commit: str) -> Path:
    """A worktree of ``commit`` under /tmp, made once and reused."""
    full = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    sha = full.stdout.strip()
    tree = Path("/tmp") / f"vrt-base-{sha[:10]}"
    if not (tree / "vrt_engine").is_dir():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), sha], check=True, capture_output=True
        )
    return tree


def run_one(tree: Path, model: str, size: str, workers: int) -> dict | str:
    """workers_speed.py's one-row measurement with ``tree``'s vrt_engine; a dict, or the error line."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(HERE / "workers_speed.py"), "--one", str(workers), "--model", model, "--size", size]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tree))
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the frames")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare with (default: the one before)")
    parser.add_argument("--rounds", type=int, default=1, help="pairs of rows (this, base)")
    args = parser.parse_args()
    try:
        trees = {"this": ROOT, "base": base_tree(args.base)}
    except subprocess.CalledProcessError as error:  # an unknown commit: one line, not a traceback
        why = f"not a commit of {ROOT}, or its worktree could not be made (git exit {error.returncode})"
        parser.error(f"--base {args.base}: {why}")
    print(f"model {args.model}, {args.size}, {args.workers} workers, automatic plan; base {args.base}: {trees['base']}")
    print(f"{'tree':>5} {'chunk':>5} {'tile':>5} {'tiles':>5} {'work':>5} {'first s':>8} {'s/frame':>8} {'peak GB':>8}")
    results: dict[str, list[float]] = {"this": [], "base": []}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            r = run_one(tree, args.model, args.size, args.workers)
            if isinstance(r, str):
                print(f"{name:>5} failed: {r}", flush=True)
                continue
            results[name].append(r["per_frame_s"])
            print(
                f"{name:>5} {r['chunk']:>5} {r['tile'] or 'whole':>5} {r['tiles']:>5} {r['work']:>5.2f} "
                f"{r['first_s']:>8.1f} {r['per_frame_s']:>8.2f} {r['peak_gb']:>8.1f}",
                flush=True,
            )
    if results["this"] and results["base"]:
        this, base = min(results["this"]), min(results["base"])
        print(f"speed-up (best of each): {base / this:.2f}x ({base:.2f} -> {this:.2f} s per frame)")


if __name__ == "__main__":
    main()
