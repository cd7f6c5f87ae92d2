"""The probe sweep: which memory slots each motion recalls, over a grid of directions x speeds.

Every motion of the grid becomes one motion probe per digit of `labels` (`lmc.analysis.probe`,
straight through the input), and the model addresses its memory from each short input as at
inference (phase 2). Per motion the sweep counts, over clips x query cells, how often each slot
is the top choice: a memory that stores motion gives different directions different slots, one
that ignores the input gives every motion the same ones. A motion the input frames cannot hold
without a bounce is not probed (`fits` is False) rather than replaced by another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lmc.analysis.inputs import match_channels
from lmc.analysis.probe import max_probe_speed, motion_probe
from lmc.config import MIN_MOTION_FRAMES

DIGITS = tuple(range(10))


@dataclass(frozen=True)
class ProbeSweep:
    """directions (A,) degrees and speeds (V,) px/frame of the grid; labels (N,) the digit of each
    clip of a motion; fits (A, V) whether the motion was probed; top_slot (A, V, N, cells) the
    top slot of every query cell, -1 where the motion was not probed; memory_size S."""

    directions: np.ndarray
    speeds: np.ndarray
    labels: np.ndarray
    fits: np.ndarray
    top_slot: np.ndarray
    memory_size: int

    @property
    def counts(self) -> np.ndarray:
        """(A, V, S) int: how many clips x cells pick each slot as their top one."""
        a, v = self.fits.shape
        flat = self.top_slot.reshape(a * v, -1)
        counts = np.zeros((a * v, self.memory_size), dtype=np.int64)
        for row, slots in enumerate(flat):
            counts[row] = np.bincount(slots[slots >= 0], minlength=self.memory_size)
        return counts.reshape(a, v, self.memory_size)

    @property
    def shares(self) -> np.ndarray:
        """(A, V, S) counts over the clips x cells of each motion (zeros where not probed)."""
        counts = self.counts
        total = counts.sum(axis=-1, keepdims=True)
        return np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)

    def table(self, k: int = 3) -> list[dict[str, object]]:
        """One row per motion, directions outer: direction_deg, speed_px, fits, the `k` most
        chosen slots with their shares (largest first, ties to the lower slot) and how many
        distinct slots are a top choice at all."""
        counts, shares = self.counts, self.shares
        rows = []
        for i, direction in enumerate(self.directions.tolist()):
            for j, speed in enumerate(self.speeds.tolist()):
                order = np.argsort(-counts[i, j], kind="stable")[:k]
                chosen = [s for s in order.tolist() if counts[i, j, s] > 0]
                rows.append(
                    {
                        "direction_deg": direction,
                        "speed_px": speed,
                        "fits": bool(self.fits[i, j]),
                        "top_slots": chosen,
                        "top_shares": [float(shares[i, j, s]) for s in chosen],
                        "distinct_slots": int((counts[i, j] > 0).sum()),
                    }
                )
        return rows


@torch.inference_mode()
def probe_sweep(
    model: torch.nn.Module,
    directions_deg: Sequence[float],
    speeds: Sequence[float],
    labels: Sequence[int] = DIGITS,
    *,
    short_len: int = 10,
    image_size: int | None = None,
    batch_size: int = 64,
) -> ProbeSweep:
    """Probe every (direction, speed) of the grid with one single-digit clip per label of
    `short_len` frames at `image_size` (default the model's) and record each cell's top slot."""
    memory = getattr(model, "memory", None)
    if memory is None:
        raise ValueError("this model has no memory (built with memory=False): nothing to recall")
    if not len(directions_deg) or not len(speeds) or not len(labels):
        raise ValueError("a probe sweep needs at least one direction, one speed and one digit")
    if short_len < MIN_MOTION_FRAMES:
        raise ValueError(
            f"short_len={short_len}: the motion encoder needs at least {MIN_MOTION_FRAMES} frames"
        )
    config = model.config
    size = config.image_size if image_size is None else int(image_size)
    if any(not 0 <= int(label) <= 9 for label in labels):
        raise ValueError(f"labels {list(labels)}: digits must be classes 0..9")
    if min(speeds) < 0:
        raise ValueError(f"speeds {list(speeds)}: must be at least 0 px/frame")
    clips, probed = [], []
    for index, (direction, speed) in enumerate((a, v) for a in directions_deg for v in speeds):
        if speed > max_probe_speed(direction, short_len, size) + 1e-9:
            continue  # the input frames cannot hold it without a bounce: not probed
        for label in labels:
            clip = motion_probe([label], direction, speed, short_len, image_size=size)
            clips.append(match_channels(clip.frames, config.image_channels))
        probed.append(index)
    a, v, n = len(directions_deg), len(speeds), len(labels)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    tops = []
    try:
        for start in range(0, len(clips), batch_size):
            batch = torch.from_numpy(np.stack(clips[start : start + batch_size])).to(device)
            query, _ = model.encode_motion(batch, phase=2)
            _, weights, _ = model.address(query)
            tops.append(weights.argmax(dim=-1).cpu().numpy())
    finally:
        model.train(was_training)
    cells = tops[0].shape[-1] if tops else 0
    top_slot = np.full((a * v, n, cells), -1, dtype=np.int64)
    if tops:
        top_slot[probed] = np.concatenate(tops).reshape(len(probed), n, cells)
    fits = np.zeros(a * v, dtype=bool)
    fits[probed] = True
    return ProbeSweep(
        directions=np.asarray(directions_deg, dtype=np.float64),
        speeds=np.asarray(speeds, dtype=np.float64),
        labels=np.asarray(labels, dtype=np.int64),
        fits=fits.reshape(a, v),
        top_slot=top_slot.reshape(a, v, n, cells),
        memory_size=int(memory.slots.shape[0]),
    )
