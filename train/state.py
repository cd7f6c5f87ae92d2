"""Training state files: everything a run needs to continue exactly where it stopped.

A plain dict of tensors and primitive values written with `torch.save` (atomically) and read
back with `torch.load(weights_only=True)`, so `lmc.load_checkpoint` can also open it for the
model alone.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from lmc.checkpoint import TRAIN_STATE_FORMAT, safe_torch_load, unwrap
from lmc.io import atomic_write

STATE_VERSION = 1


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_train_state(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    iteration: int,
    data: dict[str, Any],
    best_val: float | None,
    train_config: dict[str, Any],
    metadata: dict[str, Any],
) -> Path:
    model = unwrap(model)
    state = {
        "format": TRAIN_STATE_FORMAT,
        "format_version": STATE_VERSION,
        "config": model.config.to_dict(),
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "rng": rng_state(),
        "iteration": iteration,
        "data": data,
        "best_val": best_val,
        "train_config": train_config,
        "metadata": metadata,
    }
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_train_state(path: str | Path) -> dict[str, Any]:
    state = safe_torch_load(path)
    if not isinstance(state, dict) or state.get("format") != TRAIN_STATE_FORMAT:
        raise ValueError(f"{path} is not an lmc training state (format {TRAIN_STATE_FORMAT!r})")
    if state.get("format_version") != STATE_VERSION:
        raise ValueError(
            f"{path} has training-state version {state.get('format_version')}; expected {STATE_VERSION}"
        )
    return state
