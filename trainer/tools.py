"""Dataset tools: prepare-reds (regroup REDS, name REDS4) and make-lmdb.

prepare-reds does what KAIR's ``regroup_reds_dataset.py`` does (val clip i copied into the train
folder as 240 + i, for sharp, sharp_bicubic/X4 and blur where present), and in addition links the
REDS4 clips (000, 011, 015, 020) as ``REDS4/GT`` and ``REDS4/sharp_bicubic`` (KAIR's testsets layout)
and writes ``meta_info_REDS_GT.txt`` for the regrouped train folder. Running it twice changes nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .data.reds import CLIP_RE, REDS4, clip_frames, scan_clips

# (train folder, val folder) pairs KAIR regroups; the first is required, the rest are used when present.
REGROUP_PAIRS = (
    ("train_sharp", "val_sharp"),
    ("train_sharp_bicubic/X4", "val_sharp_bicubic/X4"),
    ("train_blur", "val_blur"),
)
VAL_OFFSET = 240


def check_reds(root: Path) -> None:
    """ValueError unless ``root`` looks like REDS: train_sharp and train_sharp_bicubic/X4 of clip folders."""
    if not root.is_dir():
        raise ValueError(f"{root}: no such folder")
    for sub in ("train_sharp", "train_sharp_bicubic/X4"):
        folder = root / sub
        if not folder.is_dir() or not any(CLIP_RE.match(p.name) for p in folder.iterdir() if p.is_dir()):
            raise ValueError(
                f"{root}: not a REDS folder (expected {sub}/000/00000000.png ...; see trainer/README.md)"
            )


def _copy_clip(src: Path, dst: Path) -> bool:
    """Copy one clip folder unless an identical-looking copy (same frame files) is already there."""
    if dst.is_dir() and clip_frames(dst) == clip_frames(src):
        return False
    tmp = dst.with_name(f".{dst.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    return True


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == rel:
        return
    if link.is_symlink() or link.exists():
        raise ValueError(f"{link}: exists and is not the expected link to {target}")
    link.symlink_to(rel, target_is_directory=True)


def prepare_reds(root: str | os.PathLike[str], log=print) -> dict:
    """Regroup val into train (240+), link REDS4, write meta info; returns counts of what was done."""
    root = Path(root)
    check_reds(root)
    copied = 0
    for train_sub, val_sub in REGROUP_PAIRS:
        train, val = root / train_sub, root / val_sub
        if not (train.is_dir() and val.is_dir()):
            continue
        for clip in sorted(p for p in val.iterdir() if p.is_dir() and CLIP_RE.match(p.name)):
            copied += _copy_clip(clip, train / f"{int(clip.name) + VAL_OFFSET:03d}")
    linked = []
    for name in REDS4:
        gt, lq = root / "train_sharp" / name, root / "train_sharp_bicubic" / "X4" / name
        if gt.is_dir() and lq.is_dir():
            _link(gt, root / "REDS4" / "GT" / name)
            _link(lq, root / "REDS4" / "sharp_bicubic" / name)
            linked.append(name)
    clips = scan_clips(root / "train_sharp")
    meta = root / "meta_info_REDS_GT.txt"
    meta.write_text("".join(c.meta_line() + "\n" for c in clips))
    log(f"{root}: {copied} clip folder(s) copied, {len(clips)} training clips listed in {meta.name}, "
        f"REDS4 linked: {', '.join(linked) or 'none (clips 000/011/015/020 absent)'}")
    return {"copied": copied, "clips": len(clips), "reds4": linked}
