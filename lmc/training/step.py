"""Memory alignment learning (Lee et al., CVPR 2021, sec. 3.4): one training iteration.

Each iteration takes one batch of clips of short_len + out_len frames and runs
- phase 1: the memory is addressed by the context encoder from the long window and is trainable;
- phase 2: the memory is addressed by the matching encoder from the short input and is frozen
  exactly (no gradient reaches it, so the optimizer does not move it);
each with its own loss (L1 + MSE, mean-reduced, 1:1), backward pass and optimizer step. There is no
explicit alignment loss in the published recipe; `terms` (`lmc.training.memory_terms`) adds this
project's variants: alignment of the short input's queries or addressing to the long window's,
and a usage-balance term in each phase. The CLI (`train/`) and `lmc.experiments` both call
`train_step`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lmc.model import trainable_parameters
from lmc.training.memory_terms import (
    MemoryTerms,
    addressing_alignment_loss,
    clip_readout_alignment_loss,
    query_alignment_loss,
    readout_alignment_loss,
    usage_balance_loss,
)
from lmc.weights import unwrap

ALIGNMENT_MODES = ("on", "off")
# Where phase 1's long window lies in the training clip. "anywhere" is published: its start is
# drawn from 0 .. clip_len - long_len, so the window reaches into the frames to be predicted and
# its recall can carry the future, which the short input of phase 2 cannot supply. "input": the
# window ends with the short input (it needs long_len <= short_len), so phase 1 recalls only what
# phase 2 can also see (this project's variant).
LONG_WINDOWS = ("anywhere", "input")
WARMUP_OUT_LEN = 10  # the published warm-up predicts only 10 frames
PUBLISHED = MemoryTerms()  # no extra term: the published recipe


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
    long_window: str = "anywhere"  # one of LONG_WINDOWS

    def __post_init__(self) -> None:
        if self.long_window not in LONG_WINDOWS:
            raise ValueError(f"long_window={self.long_window!r}: must be one of {LONG_WINDOWS}")
        if self.long_window == "input" and self.long_len > self.short_len:
            raise ValueError(
                f"long_window='input' needs long_len <= short_len (got long_len={self.long_len}, "
                f"short_len={self.short_len}): the window ends with the short input"
            )

    @property
    def clip_len(self) -> int:
        return self.short_len + self.out_len

    def effective(self) -> tuple[int, int]:
        """(out_len, long_len) in force: during warm-up out_len=10 and long = frames[0:short+10]
        (the "input" window keeps its own length: it never reaches past the input)."""
        if not self.warmup:
            return self.out_len, self.long_len
        out = min(WARMUP_OUT_LEN, self.out_len)
        return out, (self.short_len + out if self.long_window == "anywhere" else self.long_len)

    def long_start(self, seed: int, iteration: int) -> int:
        """The start s of the long window, uniform in 0 .. clip_len - long_len, one draw per batch.

        Drawn from (seed, iteration) alone, so a resumed run draws exactly what it would have.
        The "input" window always starts at short_len - long_len.
        """
        out_len, long_len = self.effective()
        if self.long_window == "input":
            return self.short_len - long_len
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
    terms: MemoryTerms = PUBLISHED,
    autocast_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, float]:
    """One iteration on a batch `clip` (B, short_len + out_len, C, H, W); returns the loss of each
    phase run ("phase1", "phase2", or "loss" for the no-memory / no-alignment variants), and the
    value of each extra term in force ("align", "address_align", "readout_align", "clip_align", "balance1",
    "balance2"), which are not part of the phase losses.

    Whether there is a memory comes from the model's config (DDP and compile wrappers are looked
    through). A non-finite loss raises FloatingPointError before the optimizer steps, so the
    weights stay those of the last good iteration.
    """
    core = unwrap(model)
    memory = core.config.memory
    if alignment not in ALIGNMENT_MODES:
        raise ValueError(f"alignment={alignment!r}: must be one of {ALIGNMENT_MODES}")
    if terms.active and (not memory or alignment == "off"):
        raise ValueError(
            "align_weight, address_align_weight and balance_weight need the memory and the two "
            "phases (alignment on)"
        )
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
    long_recall = None
    for name, kwargs in runs:
        ctx = torch.autocast(device_type, dtype=autocast_dtype) if autocast_dtype else nullcontext()
        with ctx:
            query = None
            if name == "phase2" and terms.matching_learns == "alignment":
                # The prediction runs with the matching encoder frozen; the terms below read
                # queries of their own, the encoder's only gradient.
                with _frozen(core.memory.matching_encoder):
                    pred = model(short, out_len=out_len, **kwargs)
                query, _ = core.encode_motion(short, phase=2)
            else:
                pred = model(short, out_len=out_len, **kwargs)
            loss = prediction_loss(pred.frames.float(), target.float())
            objective = loss
            if terms.active and name in ("phase1", "phase2"):
                query = pred.query if query is None else query
                extra, long_recall = _memory_terms(core, query, name, terms, long_recall)
                for key, value in extra.items():
                    losses[key] = value.item()
                    objective = objective + value * _term_weight(terms, key)
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


def _term_weight(terms: MemoryTerms, key: str) -> float:
    return {
        "align": terms.align_weight,
        "address_align": terms.address_align_weight,
        "balance1": terms.balance_weight,
        "balance2": terms.balance_weight,
        "readout_align": terms.readout_align_weight,
        "clip_align": terms.clip_align_weight,
    }[key]


@contextmanager
def _frozen(module: torch.nn.Module) -> Iterator[None]:
    """Run the block with `module`'s parameters out of autograd, then as they were."""
    params = trainable_parameters(module)
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _memory_terms(core, query: torch.Tensor, name: str, terms: MemoryTerms, long_recall):
    """The extra terms of one phase from its queries (B, cells, D), attached to the graph, and
    what phase 2 needs of phase 1 (queries and weights).

    The addressing is computed again from the attached queries (the trace holds detached
    copies); in phase 1 the slots take part, in phase 2 they stay frozen.
    """
    phase1 = name == "phase1"
    query = query.float()
    _, weights, readout = core.address(query, memory_trainable=phase1)
    extra = {}
    if terms.balance_weight:
        extra["balance1" if phase1 else "balance2"] = usage_balance_loss(weights)
    if phase1:
        return extra, (query.detach(), weights.detach(), readout.detach())
    long_query, long_weights, long_readout = long_recall
    if terms.align_weight:
        extra["align"] = query_alignment_loss(query, long_query)
    if terms.address_align_weight:
        extra["address_align"] = addressing_alignment_loss(weights, long_weights)
    if terms.readout_align_weight:
        extra["readout_align"] = readout_alignment_loss(readout, long_readout)
    if terms.clip_align_weight:
        extra["clip_align"] = clip_readout_alignment_loss(readout, long_readout)
    return extra, long_recall
