"""Which memory slots a model uses, and for what (Lee et al., CVPR 2021, sec. 3.2).

Over a sample of clips, every query cell addresses all S slots. A slot "stands for" a motion if
the cells that favour it share that motion; a slot that no cell ever favours is dead weight.
Arrays: weights and cosine (N clips, cells, S); images (N, H, W) for the patch gallery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SlotUsage:
    """Per slot (S,): top1_count how many queries gave it their largest weight, top1_fraction
    that count over all queries, mean_weight, mean_centred (mean weight - 1/S), dead (bool) a top-1
    fraction at or below `threshold` (0: never a top choice); queries: the number of queries."""

    top1_count: np.ndarray
    top1_fraction: np.ndarray
    mean_weight: np.ndarray
    mean_centred: np.ndarray
    dead: np.ndarray
    threshold: float
    queries: int

    @property
    def num_dead(self) -> int:
        return int(self.dead.sum())


def slot_usage(weights: np.ndarray, threshold: float = 0.0) -> SlotUsage:
    """Usage of every slot over all queries in weights (..., S)."""
    weights = np.asarray(weights)
    size = weights.shape[-1]
    flat = weights.reshape(-1, size)
    if flat.shape[0] == 0:
        raise ValueError("slot_usage needs at least one query")
    counts = np.bincount(np.argmax(flat, axis=-1), minlength=size)
    fraction = counts / flat.shape[0]
    mean = flat.mean(axis=0, dtype=np.float64)
    return SlotUsage(
        top1_count=counts,
        top1_fraction=fraction,
        mean_weight=mean,
        mean_centred=mean - 1.0 / size,
        dead=(counts == 0) | (fraction <= threshold),
        threshold=threshold,
        queries=flat.shape[0],
    )


@dataclass
class TopCells:
    """The cells that recall one slot most, best first: clip and cell indices, their weight on the
    slot and the slot's rank among the S slots in that cell (0 = top choice)."""

    clip: np.ndarray
    cell: np.ndarray
    weight: np.ndarray
    rank: np.ndarray


def top_cells(weights: np.ndarray, slot: int, k: int = 12) -> TopCells:
    """The k (clip, cell) pairs of weights (N, cells, S) with the largest weight on `slot`."""
    weights = np.asarray(weights)
    if weights.ndim != 3:
        raise ValueError(f"weights has shape {weights.shape}; expected (N, cells, S)")
    n, cells, size = weights.shape
    if not 0 <= slot < size:
        raise ValueError(f"slot={slot}: must be in 0 .. {size - 1}")
    column = weights[..., slot].reshape(-1)
    k = min(k, column.size)
    best = np.sort(np.argpartition(-column, k - 1)[:k])  # sorted first: ties go to lower indices
    best = best[np.argsort(-column[best], kind="stable")]
    clip, cell = np.divmod(best, cells)
    # Rank = how many slots of that cell weigh strictly more than `slot`.
    rank = (weights[clip, cell] > column[best][:, None]).sum(axis=-1)
    return TopCells(clip=clip, cell=cell, weight=column[best], rank=rank)


def cell_box(cell: int, grid: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, height, width) in pixels of cell `cell` (row-major) of `grid` over an image
    of `size` (H, W)."""
    rows, cols = grid
    h, w = size[0] // rows, size[1] // cols
    row, col = divmod(int(cell), cols)
    return row * h, col * w, h, w


def cell_crops(
    images: np.ndarray, clip: np.ndarray, cell: np.ndarray, grid: tuple[int, int]
) -> np.ndarray:
    """The patch of each (clip, cell) pair: images (N, H, W) -> (k, H/rows, W/cols)."""
    images = np.asarray(images)
    crops = []
    for c, k in zip(np.asarray(clip), np.asarray(cell), strict=True):
        top, left, h, w = cell_box(k, grid, images.shape[1:3])
        crops.append(images[c, top : top + h, left : left + w])
    if not crops:
        rows, cols = grid
        return np.zeros((0, images.shape[1] // rows, images.shape[2] // cols), images.dtype)
    return np.stack(crops)


def motion_energy(frames: np.ndarray) -> np.ndarray:
    """(N, T, H, W) frames (uint8 0..255 or floats in [0, 1]) -> (N, H, W) float32 mean absolute
    frame difference in [0, 1]: where something moved during the clip."""
    frames = np.asarray(frames)
    scale = 255.0 if frames.dtype == np.uint8 else 1.0
    if frames.shape[1] < 2:
        return np.zeros((frames.shape[0], *frames.shape[2:]), np.float32)
    diffs = np.abs(np.diff(frames.astype(np.float32), axis=1))
    return diffs.mean(axis=1) / scale


@dataclass
class SlotMotion:
    """The true motion of the cells that chose each slot as their top slot, per slot (S,):
    count of such cells (with a digit), mean_direction their circular mean direction in radians
    (NaN if none), resultant the length of the mean unit vector in [0, 1] (1: all moved the same
    way, near 0: no preferred direction), mean_speed in pixels/frame."""

    count: np.ndarray
    mean_direction: np.ndarray
    resultant: np.ndarray
    mean_speed: np.ndarray

    def tuning(self) -> float:
        """The resultant averaged over slots, weighted by their counts: how direction-specific
        the top choices are over the whole sample."""
        total = self.count.sum()
        if not total:
            return float("nan")
        return float(np.nansum(self.resultant * self.count) / total)


def slot_motion(
    top_slot: np.ndarray,
    direction: np.ndarray,
    speed: np.ndarray,
    size: int,
    occupancy: np.ndarray | None = None,
    min_occupancy: float = 0.5,
) -> SlotMotion:
    """Group cells by their top slot (any shape, e.g. (N, cells)) and summarise their motion.

    Cells without a digit (NaN direction) or present in fewer than `min_occupancy` of the frames
    are left out.
    """
    top_slot = np.asarray(top_slot).reshape(-1)
    direction = np.asarray(direction, dtype=np.float64).reshape(-1)
    speed = np.asarray(speed, dtype=np.float64).reshape(-1)
    keep = np.isfinite(direction)
    if occupancy is not None:
        keep &= np.asarray(occupancy).reshape(-1) >= min_occupancy
    slot, angle, spd = top_slot[keep], direction[keep], speed[keep]
    count = np.bincount(slot, minlength=size)
    sum_cos = np.bincount(slot, weights=np.cos(angle), minlength=size)
    sum_sin = np.bincount(slot, weights=np.sin(angle), minlength=size)
    sum_speed = np.bincount(slot, weights=spd, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cos, mean_sin = sum_cos / count, sum_sin / count
        mean_speed = sum_speed / count
    return SlotMotion(
        count=count,
        mean_direction=np.where(count > 0, np.arctan2(mean_sin, mean_cos), np.nan),
        resultant=np.where(count > 0, np.hypot(mean_cos, mean_sin), np.nan),
        mean_speed=mean_speed,
    )
