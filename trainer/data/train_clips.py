"""Training samples: a temporal window of frames, aligned LQ/GT crops, flips and rotations.

Follows KAIR's VideoRecurrentTrainDataset: one sample per frame of every non-validation clip; the
window of ``num_frame`` frames at a random interval from ``interval_list`` starts at that frame (or at
a random earlier frame when it would run past the clip's end); optional random reverse; one random LQ
crop of gt_size/scale and the matching GT crop; horizontal flip, vertical flip and transpose each
with probability 1/2 (``use_rot`` enables the last two).

Unlike KAIR, a sample is a pure function of (seed, global sample position): the order of samples
(a per-epoch permutation) and each sample's random choices come from numpy generators seeded with
them. That makes resume exact (position = iteration x global batch) and lets each data-parallel
rank draw its own share of one global stream, whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .frames import FrameSource, read_clip_list
from .reds import val_partition

# brackets a sample's error inside MindSpore's pipeline dump, so that batches() can find it
WORKER_ERROR, WORKER_ERROR_END = "<<vrt-sample-error ", " vrt-sample-error>>"


@dataclass(frozen=True)
class SampleKey:
    clip: str
    frame: int
    first: int  # first frame number of the clip
    count: int  # frames in the clip


def training_keys(source: FrameSource, meta_info_file: str | None, partition) -> list[SampleKey]:
    """One key per frame of each clip not in the validation partition."""
    held = set(val_partition(partition))
    keys = [
        SampleKey(c.name, c.start + i, c.start, c.num_frames)
        for c in read_clip_list(meta_info_file, source)
        if c.name not in held
        for i in range(c.num_frames)
    ]
    if not keys:
        raise ValueError(f"{source.root}: no training clips left after removing the validation partition")
    return keys


def augment(frames: np.ndarray, hflip: bool, vflip: bool, rot90: bool) -> np.ndarray:
    """Apply the same flips/transpose to a (T, H, W, C) stack."""
    if hflip:
        frames = frames[:, :, ::-1]
    if vflip:
        frames = frames[:, ::-1]
    if rot90:
        frames = frames.transpose(0, 2, 1, 3)
    return frames


class TrainClips:
    """Random-access training samples for one rank: item k is the rank's k-th sample from ``start``.

    Returns (lq, gt) float32 arrays (T, 3, h, w) and (T, 3, h*scale, w*scale), RGB in [0, 1].
    """

    def __init__(self, cfg, scale: int, seed: int, length: int, start_iteration: int = 0, rank: int = 0,
                 world: int = 1):
        self.cfg = cfg
        self.scale = scale
        self.seed = seed
        self.length = length
        self.start_iteration = start_iteration
        self.rank, self.world = rank, world
        if cfg.batch_size % world:
            raise ValueError(f"data.train.batch_size: {cfg.batch_size} does not split across {world} workers")
        self.per_rank = cfg.batch_size // world
        if cfg.gt_size % scale:
            raise ValueError(f"data.train.gt_size: {cfg.gt_size} is not a multiple of the scale {scale}")
        self.gt = FrameSource(cfg.dataroot_gt, cfg.io_backend)
        self.lq = FrameSource(cfg.dataroot_lq, cfg.io_backend)
        self.keys = training_keys(self.gt, cfg.meta_info_file, cfg.val_partition)
        longest = max(k.count for k in self.keys)
        if cfg.num_frame * min(cfg.interval_list) > longest:
            raise ValueError(f"data.train.num_frame: {cfg.num_frame} frames do not fit in clips of {longest}")

    def __len__(self) -> int:
        return self.length

    def global_position(self, k: int) -> int:
        """Position in the global sample stream of this rank's k-th sample."""
        it, b = divmod(k, self.per_rank)
        return (self.start_iteration + it) * self.cfg.batch_size + self.rank * self.per_rank + b

    def key_at(self, position: int) -> SampleKey:
        epoch, offset = divmod(position, len(self.keys))
        order = np.random.default_rng([self.seed, 1, epoch]).permutation(len(self.keys))
        return self.keys[order[offset]]

    def window(self, position: int) -> tuple[SampleKey, list[int], np.random.Generator]:
        """The clip, frame numbers and (advanced) random generator of one sample, as KAIR picks them."""
        cfg = self.cfg
        key = self.key_at(position)
        rng = np.random.default_rng([self.seed, 2, position])
        interval = int(rng.choice(cfg.interval_list))
        span = cfg.num_frame * interval
        if span > key.count:
            interval, span = 1, cfg.num_frame  # a short clip: fall back to consecutive frames
        last_start = key.first + key.count - span
        start = key.frame if key.frame <= last_start else int(rng.integers(key.first, last_start + 1))
        indices = list(range(start, start + span, interval))
        if cfg.random_reverse and rng.random() < 0.5:
            indices.reverse()
        return key, indices, rng

    def sample(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        key, indices, rng = self.window(position)
        lq = np.stack([self.lq.frame(key.clip, i) for i in indices])
        gt = np.stack([self.gt.frame(key.clip, i) for i in indices])
        s, lq_size = self.scale, cfg.gt_size // self.scale
        h, w = lq.shape[1:3]
        if gt.shape[1:3] != (h * s, w * s):
            raise ValueError(f"{self.gt.root / key.clip}: GT {gt.shape[1:3]} is not {s}x LQ {(h, w)}")
        if h < lq_size or w < lq_size:
            raise ValueError(f"{self.lq.root / key.clip}: LQ {h}x{w} is smaller than the crop {lq_size}")
        top, left = int(rng.integers(0, h - lq_size + 1)), int(rng.integers(0, w - lq_size + 1))
        lq = lq[:, top : top + lq_size, left : left + lq_size]
        gt = gt[:, top * s : (top + lq_size) * s, left * s : (left + lq_size) * s]
        flips = (cfg.use_hflip and rng.random() < 0.5, cfg.use_rot and rng.random() < 0.5,
                 cfg.use_rot and rng.random() < 0.5)
        lq, gt = augment(lq, *flips), augment(gt, *flips)
        to_chw = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0  # noqa: E731
        return to_chw(lq), to_chw(gt)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        try:
            return self.sample(self.global_position(int(k)))
        except Exception as exc:  # noqa: BLE001 - any failure in a worker becomes the one line batches() finds
            text = str(exc).strip().splitlines()
            raise ValueError(f"{WORKER_ERROR}{text[0] if text else type(exc).__name__}{WORKER_ERROR_END}") from None


def worker_error(exc: BaseException) -> str | None:
    """The one line a sample raised inside a dataset worker, from MindSpore's wrapped error (None if absent)."""
    text = str(exc)
    start = text.find(WORKER_ERROR)
    end = text.find(WORKER_ERROR_END, start + 1)
    return text[start + len(WORKER_ERROR) : end] if start >= 0 and end > start else None


def batches(data) -> Iterator:
    """Iterate a dataset's batches as numpy; a sample's error reaches the caller as one ValueError line."""
    iterator = data.create_tuple_iterator(num_epochs=1, output_numpy=True)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except RuntimeError as exc:
            message = worker_error(exc)
            if message is None:
                raise
            raise ValueError(message) from None
        yield batch


def make_dataset(clips: TrainClips, workers: int):
    """A batched mindspore.dataset over the clips, decoded by ``workers`` processes, in order."""
    import mindspore.dataset as ds

    data = ds.GeneratorDataset(
        clips, column_names=["lq", "gt"], shuffle=False, num_parallel_workers=max(1, workers),
        python_multiprocessing=workers > 1, max_rowsize=64,
    )
    return data.batch(clips.per_rank, drop_remainder=True)
