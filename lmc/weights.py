"""State dicts in and out of the model, below both checkpoint formats (ours and the authors').

`unwrap` finds the plain model inside DDP and torch.compile wrappers, so a checkpoint never
carries `module.` or `_orig_mod.` prefixes; `load_state_strict` lists every mismatch at once.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lmc.errors import CheckpointError
from lmc.model import LMCMemoryModel


def unwrap(model: torch.nn.Module) -> LMCMemoryModel:
    """The plain model inside DDP (`.module`) and torch.compile (`._orig_mod`) wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def load_state_strict(
    model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path | str
) -> None:
    """Load a state dict, listing every missing, unexpected and mis-shaped tensor on mismatch."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(state))
        if state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing from the checkpoint: {', '.join(missing)}")
        if unexpected:
            parts.append(f"not in the model: {', '.join(unexpected)}")
        if wrong:
            parts.append(f"shape mismatch: {'; '.join(wrong)}")
        raise CheckpointError(f"{path} does not match its model config: " + " | ".join(parts))
    model.load_state_dict(state)
