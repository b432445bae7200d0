"""Check a recipe's data before the first step: each problem one line naming the key and the file.

Why here: the same problems found later, inside a dataset worker, reach the user wrapped in
MindSpore's pipeline dump; found first, they read as one line each.
"""

from __future__ import annotations

from pathlib import Path

from .frames import FrameSource, read_clip_list
from .reds import ClipInfo, clip_frames, frame_name, read_png_rgb, val_partition


def _sources(cfg, problems: list[str], recipe: str) -> tuple[FrameSource, FrameSource] | None:
    unset = [k for k in ("dataroot_gt", "dataroot_lq") if not getattr(cfg, k)]
    if unset:
        keys = " and ".join(f"data.train.{k}" for k in unset)
        problems.append(f"{recipe}: {keys}: not set (the folders or .lmdb stores of the GT and LQ training frames)")
        return None
    out = []
    for key in ("dataroot_gt", "dataroot_lq"):
        root = Path(getattr(cfg, key))
        if not root.exists():
            problems.append(f"{recipe}: data.train.{key}: {root} not found")
            continue
        out.append(FrameSource(root, cfg.io_backend))
    return (out[0], out[1]) if len(out) == 2 else None


def _listed(source: FrameSource, key: str, problems: list[str]) -> dict[str, ClipInfo] | None:
    try:
        return {c.name: c for c in source.clips()}
    except ValueError as exc:
        problems.append(f"data.train.{key}: {exc}")
        return None


def _compare(gt: dict[str, ClipInfo], lq: dict[str, ClipInfo], gt_root: Path, lq_root: Path, scale: int,
             prefix: str, problems: list[str]) -> list[str]:
    """Clip lists, frame counts and the LQ/GT scale; returns the clips both hold."""
    only_gt, only_lq = sorted(set(gt) - set(lq)), sorted(set(lq) - set(gt))
    if only_gt:
        problems.append(f"{prefix}.dataroot_lq: {lq_root} lacks clip(s) {', '.join(only_gt[:5])} of {gt_root}")
    if only_lq:
        problems.append(f"{prefix}.dataroot_gt: {gt_root} lacks clip(s) {', '.join(only_lq[:5])} of {lq_root}")
    both = sorted(set(gt) & set(lq))
    for name in both:
        g, q = gt[name], lq[name]
        if (g.start, g.num_frames) != (q.start, q.num_frames):
            problems.append(f"{prefix}.dataroot_lq: {lq_root / name}: frames {q.start}..{q.start + q.num_frames - 1}"
                            f", GT {gt_root / name} has {g.start}..{g.start + g.num_frames - 1}")
        if g.shape[:2] != (q.shape[0] * scale, q.shape[1] * scale):
            problems.append(f"{prefix}.dataroot_gt: {gt_root / name}: GT {g.shape[1]}x{g.shape[0]} is not {scale}x "
                            f"the LQ {q.shape[1]}x{q.shape[0]} of {lq_root / name}")
    return both


def _check_train(cfg, scale: int, recipe: str, problems: list[str]) -> None:
    sources = _sources(cfg, problems, recipe)
    if sources is None:
        return
    gt_src, lq_src = sources
    gt, lq = _listed(gt_src, "dataroot_gt", problems), _listed(lq_src, "dataroot_lq", problems)
    if gt is None or lq is None:
        return
    both = _compare(gt, lq, gt_src.root, lq_src.root, scale, "data.train", problems)
    try:
        held = set(val_partition(cfg.val_partition))
        listed = read_clip_list(cfg.meta_info_file, gt_src) if cfg.meta_info_file else list(gt.values())
    except ValueError as exc:
        problems.append(f"{recipe}: data.train: {exc}")
        return
    unknown = [c.name for c in listed if c.name not in gt]
    if unknown:
        problems.append(f"data.train.meta_info_file: {cfg.meta_info_file} lists clip(s) {', '.join(unknown[:5])} "
                        f"not in {gt_src.root}")
    train = [c for c in listed if c.name not in held and c.name in both]
    if not train:
        problems.append(f"data.train.val_partition: no training clips of {gt_src.root} left after removing "
                        f"'{cfg.val_partition}'")
        return
    crop = cfg.gt_size // scale
    for c in train:
        h, w = lq[c.name].shape[:2]
        if h < crop or w < crop:
            problems.append(f"data.train.gt_size: {lq_src.root / c.name}: LQ {w}x{h} is smaller than the crop "
                            f"{crop} (gt_size {cfg.gt_size} / scale {scale})")
            break
    longest = max(c.num_frames for c in train)
    if cfg.num_frame * min(cfg.interval_list) > longest:
        problems.append(f"data.train.num_frame: {cfg.num_frame} frames do not fit in the clips of {gt_src.root} "
                        f"(longest {longest})")


def _val_clip(root: Path, name: str) -> ClipInfo:
    frames = clip_frames(root / name) if (root / name).is_dir() else []
    if not frames:
        raise ValueError(f"{root / name}: no frames")
    missing = sorted(set(range(frames[0], frames[-1] + 1)) - set(frames))
    if missing:
        raise ValueError(f"{root / name}: frame {frame_name(missing[0])}.png missing")
    shape = read_png_rgb(root / name / f"{frame_name(frames[0])}.png").shape
    return ClipInfo(name, len(frames), frames[0], shape)


def _check_val(cfg, scale: int, recipe: str, problems: list[str]) -> None:
    v = cfg.data.val
    if not v.dataroot_gt and not v.dataroot_lq:
        return
    for key in ("dataroot_gt", "dataroot_lq"):
        value = getattr(v, key)
        if not value:
            problems.append(f"{recipe}: data.val.{key}: not set (set both validation folders or neither)")
            return
        if not Path(value).is_dir():
            problems.append(f"{recipe}: data.val.{key}: {value} not found")
            return
    gt_root, lq_root = Path(v.dataroot_gt), Path(v.dataroot_lq)
    names = v.clips or sorted(p.name for p in gt_root.iterdir() if p.is_dir())
    gt, lq = {}, {}
    for name in names:
        for root, table, key in ((gt_root, gt, "dataroot_gt"), (lq_root, lq, "dataroot_lq")):
            try:
                table[name] = _val_clip(root, name)
            except ValueError as exc:
                problems.append(f"data.val.{key}: {exc}")
    if not names:
        problems.append(f"data.val.dataroot_gt: {gt_root}: no clip folders")
    both = set(gt) & set(lq)  # a clip missing on one side was said above
    _compare({n: gt[n] for n in both}, {n: lq[n] for n in both}, gt_root, lq_root, scale, "data.val", problems)


def data_problems(cfg, scale: int, recipe: str, training: bool = True, validation: bool = True) -> list[str]:
    """Every problem of the recipe's training and/or validation data, one line each; empty when fine."""
    problems: list[str] = []
    if training:
        _check_train(cfg.data.train, scale, recipe, problems)
    if validation:
        _check_val(cfg, scale, recipe, problems)
    return problems
