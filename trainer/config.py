"""Training recipes: YAML -> typed dataclasses, every key and type checked, errors name the key.

A recipe fully describes a run (KAIR's options-file idea). ``--set a.b=value`` edits the raw mapping
before validation, so an override is checked exactly like the file.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A recipe problem; the message is one line naming the file and the key."""


@dataclass
class ModelCfg:
    preset: str | None = "tiny"  # a vrt_engine preset name ...
    arch: dict[str, Any] | None = None  # ... or VRT constructor arguments (one of the two)
    spynet_path: str | None = None  # the authors' SpyNet .pth; None trains SpyNet from scratch
    pretrained: str | None = None  # a checkpoint of ours or an authors' .pth to start from


@dataclass
class TrainDataCfg:
    dataroot_gt: str = ""
    dataroot_lq: str = ""
    io_backend: str = "disk"  # disk (PNG folders) or lmdb
    meta_info_file: str | None = None  # None: scan the GT folder / store
    val_partition: str | list[str] = "REDS4"  # clips never trained on
    num_frame: int = 6
    gt_size: int = 256
    interval_list: list[int] = field(default_factory=lambda: [1])
    random_reverse: bool = False
    use_hflip: bool = True
    use_rot: bool = True
    batch_size: int = 8  # global, split across data-parallel workers
    num_workers: int = 2  # mindspore.dataset worker processes per training process


@dataclass
class ValDataCfg:
    dataroot_gt: str | None = None  # None: no validation
    dataroot_lq: str | None = None
    clips: list[str] | None = None  # None: every clip folder
    max_frames: int | None = None  # None: whole clips


@dataclass
class DataCfg:
    train: TrainDataCfg = field(default_factory=TrainDataCfg)
    val: ValDataCfg = field(default_factory=ValDataCfg)


@dataclass
class TrainCfg:
    iterations: int = 300000
    lr: float = 4e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.99])
    weight_decay: float = 0.0
    scheduler: str = "CosineAnnealingWarmRestarts"
    periods: int = 300000
    restart_weight: int = 1  # KAIR passes G_scheduler_restart_weights as torch's T_mult (default 1)
    eta_min: float = 1e-7
    loss: str = "charbonnier"
    charbonnier_eps: float = 1e-9
    fix_iter: int = 0
    fix_lr_mul: float = 1.0
    fix_keys: list[str] = field(default_factory=list)
    graph: bool = True  # compile the training step (mindspore.jit)
    amp: str = "auto"  # auto (fp16 on GPU/Ascend, fp32 on CPU), on, off
    loss_scale: float = 65536.0  # initial dynamic loss scale with amp (halved on overflow, as torch's GradScaler)
    device: str = "auto"
    seed: int = 0


@dataclass
class ValCfg:
    every: int = 5000
    num_frame_testing: int = 40
    num_frame_overlapping: int = 2
    size_patch_testing: int = 128
    tile_overlap: int = 20


@dataclass
class CheckpointCfg:
    every: int = 5000
    keep: int = 3


@dataclass
class LogCfg:
    every: int = 200


@dataclass
class Config:
    name: str = "run"
    output: str = "experiments"  # the run folder is output/name
    model: ModelCfg = field(default_factory=ModelCfg)
    data: DataCfg = field(default_factory=DataCfg)
    train: TrainCfg = field(default_factory=TrainCfg)
    val: ValCfg = field(default_factory=ValCfg)
    checkpoint: CheckpointCfg = field(default_factory=CheckpointCfg)
    log: LogCfg = field(default_factory=LogCfg)

    @property
    def run_dir(self) -> Path:
        return Path(self.output) / self.name


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string", type(None): "null"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
    elif origin is list:
        if isinstance(value, list):
            return [_coerce(v, typing.get_args(tp)[0], f"{key}[{i}]") for i, v in enumerate(value)]
    elif origin is dict:
        if isinstance(value, dict):
            return dict(value)
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 4e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    elif dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"{full}: unknown key (known: {', '.join(sorted(names))})")
        kwargs[key] = _coerce(value, hints[key], full)
    return cls(**kwargs)


def _check(cfg: Config) -> None:
    """Cross-field rules a type cannot express."""
    m, t, d = cfg.model, cfg.train, cfg.data.train
    if (m.preset is None) == (m.arch is None):
        raise ConfigError("model: give exactly one of model.preset and model.arch")
    _check_ranges(cfg)
    if d.io_backend not in ("disk", "lmdb"):
        raise ConfigError(f"data.train.io_backend: expected disk or lmdb, got '{d.io_backend}'")
    positive = {"data.train.num_frame": d.num_frame, "data.train.gt_size": d.gt_size,
                "data.train.batch_size": d.batch_size, "train.iterations": t.iterations, "train.periods": t.periods,
                "val.every": cfg.val.every, "checkpoint.every": cfg.checkpoint.every,
                "checkpoint.keep": cfg.checkpoint.keep, "log.every": cfg.log.every}
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key}: must be at least 1, got {value}")
    if not d.interval_list or min(d.interval_list) < 1:
        raise ConfigError("data.train.interval_list: must be a non-empty list of positive integers")
    if t.scheduler != "CosineAnnealingWarmRestarts":
        raise ConfigError(f"train.scheduler: only CosineAnnealingWarmRestarts is implemented, got '{t.scheduler}'")
    if t.loss != "charbonnier":
        raise ConfigError(f"train.loss: only charbonnier is implemented, got '{t.loss}'")
    if t.amp not in ("auto", "on", "off"):
        raise ConfigError(f"train.amp: expected auto, on or off, got '{t.amp}'")
    if len(t.betas) != 2:
        raise ConfigError("train.betas: expected two numbers")
    if t.restart_weight < 1:
        raise ConfigError("train.restart_weight: must be at least 1")


def _check_ranges(cfg: Config) -> None:
    """Numbers a type check lets through but training cannot use; the message names the key."""
    t, d, v = cfg.train, cfg.data.train, cfg.val
    rules = [
        ("train.lr", t.lr, t.lr > 0, "must be above 0"),
        ("train.eta_min", t.eta_min, t.eta_min >= 0, "must be 0 or more"),
        ("train.weight_decay", t.weight_decay, t.weight_decay >= 0, "must be 0 or more"),
        ("train.fix_lr_mul", t.fix_lr_mul, t.fix_lr_mul >= 0, "must be 0 or more"),
        ("train.fix_iter", t.fix_iter, t.fix_iter >= 0, "must be 0 or more"),
        ("train.charbonnier_eps", t.charbonnier_eps, t.charbonnier_eps > 0, "must be above 0"),
        ("train.loss_scale", t.loss_scale, t.loss_scale >= 1, "must be at least 1"),
        ("data.train.num_workers", d.num_workers, d.num_workers >= 0, "must be 0 or more"),
        ("val.num_frame_testing", v.num_frame_testing, v.num_frame_testing >= 0, "must be 0 (whole clip) or more"),
        ("val.num_frame_overlapping", v.num_frame_overlapping, v.num_frame_overlapping >= 0, "must be 0 or more"),
        ("val.size_patch_testing", v.size_patch_testing, v.size_patch_testing >= 0, "must be 0 (no tiles) or more"),
        ("val.tile_overlap", v.tile_overlap, v.tile_overlap >= 0, "must be 0 or more"),
    ]
    rules += [(f"train.betas[{i}]", b, 0 <= b < 1, "must be in [0, 1)") for i, b in enumerate(t.betas)]
    if cfg.data.val.max_frames is not None:
        rules.append(("data.val.max_frames", cfg.data.val.max_frames, cfg.data.val.max_frames >= 1,
                      "must be at least 1 (or null for whole clips)"))
    for key, value, ok, rule in rules:
        if not ok:
            raise ConfigError(f"{key}: {rule}, got {value}")


def apply_override(raw: dict, assignment: str) -> None:
    """Apply one ``a.b.c=value`` (value parsed as YAML) to the raw mapping, in place."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment}: expected key.path=value")
    path, text = assignment.split("=", 1)
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    keys = path.strip().split(".")
    node = raw
    for i, key in enumerate(keys[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {path}: '{'.'.join(keys[: i + 1])}' is not a section")
        node = child
    node[keys[-1]] = value


def parse_config(raw: dict, source: str = "config") -> Config:
    """Validate a raw mapping into a Config; ConfigError names ``source`` and the key."""
    try:
        cfg = _build(Config, raw, "")
        _check(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return cfg


def read_raw(path: str | Path) -> dict:
    """The YAML mapping of a recipe file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a recipe."""
    raw = copy.deepcopy(read_raw(path))
    for assignment in overrides:
        apply_override(raw, assignment)
    return parse_config(raw, str(path))


def to_dict(cfg: Config) -> dict:
    """The plain mapping of a Config (stored in checkpoints)."""
    return dataclasses.asdict(cfg)
