"""Memory alignment learning (Lee et al., CVPR 2021, sec. 3.4): one training iteration.

Each iteration takes one batch of clips of short_len + out_len frames and runs
- phase 1: the memory is addressed by the context encoder from the long window and is trainable;
- phase 2: the memory is addressed by the matching encoder from the short input and is frozen
  exactly (no gradient reaches it, so the optimizer does not move it);
each with its own loss (L1 + MSE, mean-reduced, 1:1), backward pass and optimizer step. There is no
explicit alignment loss in the published recipe; `align_weight` > 0 adds one to phase 2 (a
variant of this project: the matching encoder's queries are pulled towards the context encoder's
queries of the same batch, which phase 1 has just computed). The CLI (`train/`) and
`lmc.experiments` both call `train_step`.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lmc.weights import unwrap

ALIGNMENT_MODES = ("on", "off")
WARMUP_OUT_LEN = 10  # the published warm-up predicts only 10 frames


def prediction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 + MSE, both mean-reduced, weighted 1:1, as published."""
    return F.l1_loss(pred, target) + F.mse_loss(pred, target)


@dataclass(frozen=True)
class ClipWindows:
    """How one training clip is cut: short input, target and the long-term window."""

    short_len: int
    out_len: int
    long_len: int
    warmup: bool = False  # the first iterations predict only WARMUP_OUT_LEN frames

    @property
    def clip_len(self) -> int:
        return self.short_len + self.out_len

    def effective(self) -> tuple[int, int]:
        """(out_len, long_len) in force: during warm-up out_len=10 and long = frames[0:short+10]."""
        if self.warmup:
            out = min(WARMUP_OUT_LEN, self.out_len)
            return out, self.short_len + out
        return self.out_len, self.long_len

    def long_start(self, seed: int, iteration: int) -> int:
        """The start s of the long window, uniform in 0 .. clip_len - long_len, one draw per batch.

        Drawn from (seed, iteration) alone, so a resumed run draws exactly what it would have.
        """
        out_len, long_len = self.effective()
        if self.warmup:
            return 0
        high = self.short_len + out_len - long_len
        return int(np.random.default_rng([seed, iteration, 7]).integers(0, high + 1))

    def split(
        self, clip: torch.Tensor, long_start: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """clip (B, T, C, H, W) -> short, target, long."""
        out_len, long_len = self.effective()
        short = clip[:, : self.short_len]
        target = clip[:, self.short_len : self.short_len + out_len]
        long = clip[:, long_start : long_start + long_len]
        return short, target, long


def query_alignment_loss(short_query: torch.Tensor, long_query: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance, cell by cell, between the short input's queries (B, cells, D) and the
    long window's (the target, detached): 0 when both address the memory alike."""
    return (1 - F.cosine_similarity(short_query, long_query.detach(), dim=-1)).mean()


def check_windows(short_len: int, out_len: int, long_len: int, min_motion_frames: int) -> None:
    """Clear errors for lengths the model or the recipe cannot use."""
    if short_len < min_motion_frames:
        raise ValueError(
            f"short_len={short_len}: the motion encoder needs at least {min_motion_frames} frames"
        )
    if out_len < 1:
        raise ValueError(f"out_len={out_len}: must be at least 1")
    if not min_motion_frames <= long_len <= short_len + out_len:
        raise ValueError(
            f"long_len={long_len}: must be between {min_motion_frames} and short_len + out_len = "
            f"{short_len + out_len} (the long window is cut from the training clip)"
        )


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    clip: torch.Tensor,
    windows: ClipWindows,
    long_start: int,
    *,
    alignment: str = "on",
    align_weight: float = 0.0,
    autocast_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, float]:
    """One iteration on a batch `clip` (B, short_len + out_len, C, H, W); returns the loss of each
    phase run ("phase1", "phase2", or "loss" for the no-memory / no-alignment variants), and with
    align_weight > 0 the alignment term of phase 2 ("align"), which is not part of "phase2".

    Whether there is a memory comes from the model's config (DDP and compile wrappers are looked
    through). A non-finite loss raises FloatingPointError before the optimizer steps, so the
    weights stay those of the last good iteration.
    """
    memory = unwrap(model).config.memory
    if alignment not in ALIGNMENT_MODES:
        raise ValueError(f"alignment={alignment!r}: must be one of {ALIGNMENT_MODES}")
    if not align_weight >= 0:
        raise ValueError(f"align_weight={align_weight}: must be >= 0")
    if align_weight and (not memory or alignment == "off"):
        raise ValueError("align_weight needs the memory and the two phases (alignment on)")
    short, target, long = windows.split(clip, long_start)
    out_len = target.shape[1]
    if not memory:
        runs = [("loss", dict(phase=2))]
    elif alignment == "off":
        # One phase: the memory is addressed from the short input and trained from it.
        runs = [("loss", dict(phase=2, memory_trainable=True))]
    else:
        runs = [("phase1", dict(phase=1, long=long)), ("phase2", dict(phase=2))]
    device_type = clip.device.type
    losses = {}
    long_query = None
    for name, kwargs in runs:
        ctx = torch.autocast(device_type, dtype=autocast_dtype) if autocast_dtype else nullcontext()
        with ctx:
            pred = model(short, out_len=out_len, **kwargs)
            loss = prediction_loss(pred.frames.float(), target.float())
            objective = loss
            if name == "phase1":
                long_query = pred.memory.query
            elif name == "phase2" and align_weight:
                align = query_alignment_loss(pred.query.float(), long_query.float())
                losses["align"] = align.item()
                objective = loss + align_weight * align
        if not torch.isfinite(objective):
            raise FloatingPointError(f"{name} loss is {objective.item()}")
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(objective).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            objective.backward()
            optimizer.step()
        losses[name] = loss.item()
    return losses
