"""Where training and validation clips come from: the built-in Moving-MNIST generator or the
original frame-folder layout. Every source is resumable: its position is a plain dict."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lmc.training.config import TrainConfig


def _to_channels(clips: torch.Tensor, channels: int) -> torch.Tensor:
    """Grayscale Moving-MNIST to 3 channels when an RGB model is trained on it."""
    return (
        clips.expand(-1, -1, channels, -1, -1).contiguous() if clips.shape[2] != channels else clips
    )


class GeneratorSource:
    """Fresh Moving-MNIST clips every batch, from (seed, rank, batch index)."""

    def __init__(self, cfg: TrainConfig, image_size: int, channels: int, rank: int, world: int):
        from lmc.data.moving_mnist import MovingMNISTStream

        self.channels = channels
        self.stream = MovingMNISTStream(
            cfg.batch_size // world,
            cfg.short_len + cfg.out_len,
            seed=cfg.seed,
            rank=rank,
            world_size=world,
            image_size=image_size,
            motion=cfg.motion,
        )

    def next_batch(self) -> torch.Tensor:
        return _to_channels(self.stream.next_batch(), self.channels)

    def state_dict(self) -> dict[str, Any]:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stream.load_state_dict(state)


class FolderSource:
    """All stride-1 windows of a frame-folder dataset, shuffled anew each epoch by (seed, epoch).

    Each rank takes every world-th clip of the shuffled order; the position is the batch index,
    so a resumed run continues with exactly the batches it would have drawn.
    """

    def __init__(self, cfg: TrainConfig, image_size: int, channels: int, rank: int, world: int):
        from lmc.data.folders import FrameFolderDataset

        self.dataset = FrameFolderDataset(
            cfg.train_data_dir,
            cfg.short_len + cfg.out_len,
            split="train",
            channels=channels,
            size=image_size,
        )
        self.per_rank = cfg.batch_size // world
        self.global_batch = self.per_rank * world
        self.seed, self.rank = cfg.seed, rank
        self.batch_index = 0
        self.loader_pool = None
        if cfg.workers > 0:
            from concurrent.futures import ThreadPoolExecutor

            self.loader_pool = ThreadPoolExecutor(cfg.workers)

    def _indices(self, batch_index: int) -> np.ndarray:
        n = len(self.dataset)
        per_epoch = max(n // self.global_batch, 1)
        epoch, offset = divmod(batch_index, per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(n)
        order = np.resize(order, per_epoch * self.global_batch)  # tiny datasets repeat clips
        chunk = order[offset * self.global_batch : (offset + 1) * self.global_batch]
        return chunk[self.rank :: self.global_batch // self.per_rank]

    def next_batch(self) -> torch.Tensor:
        idx = self._indices(self.batch_index)
        self.batch_index += 1
        getter = self.dataset.__getitem__
        items = (
            list(self.loader_pool.map(getter, idx))
            if self.loader_pool
            else [getter(i) for i in idx]
        )
        return torch.stack(items)

    def state_dict(self) -> dict[str, Any]:
        return {"batch_index": self.batch_index, "clips": len(self.dataset)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("clips") != len(self.dataset):
            raise ValueError(
                f"the training folder now has {len(self.dataset)} clips, the checkpoint saw "
                f"{state.get('clips')}: resuming would not draw the same batches"
            )
        self.batch_index = int(state["batch_index"])


def make_train_source(cfg: TrainConfig, image_size: int, channels: int, rank: int, world: int):
    if cfg.batch_size % world:
        raise ValueError(f"batch_size={cfg.batch_size} must divide evenly over {world} processes")
    cls = FolderSource if cfg.train_data_dir else GeneratorSource
    return cls(cfg, image_size, channels, rank, world)


def validation_clips(cfg: TrainConfig, image_size: int, channels: int) -> tuple[torch.Tensor, str]:
    """The fixed validation clips (N, short+out, C, H, W) and a label saying where they come from."""
    clip_len = cfg.short_len + cfg.out_len
    if cfg.valid_data_dir:
        from lmc.data.folders import FrameFolderDataset

        dataset = FrameFolderDataset(
            cfg.valid_data_dir, clip_len, split="test", channels=channels, size=image_size
        )
        n = min(cfg.val_clips, len(dataset))
        return torch.stack([dataset[i] for i in range(n)]), f"frame folders {cfg.valid_data_dir}"
    from lmc.data.fixed_sets import fixed_set

    clips = fixed_set("val", cfg.val_clips, clip_len, image_size=image_size, motion=cfg.motion)
    return _to_channels(clips.to_tensor(), channels), clips.source
