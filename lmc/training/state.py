"""Training state files (`last.pt`): everything a run needs to continue exactly where it stopped.

A plain dict of tensors and primitive values written with `torch.save` (atomically) and read
back with `torch.load(weights_only=True)`. This module alone writes and reads the format, and
checks its name and version on every read; `lmc.load_checkpoint` opens it through
`load_train_state` for the model alone.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from lmc.errors import CheckpointError
from lmc.io import atomic_write, safe_torch_load
from lmc.weights import unwrap

TRAIN_STATE_FORMAT = "lmc-train-state"
STATE_VERSION = 1
# What `save_train_state` writes besides the format fields, all needed to continue a run.
STATE_KEYS = (
    "config",
    "model",
    "optimizer",
    "rng",
    "iteration",
    "data",
    "best_val",
    "train_config",
)


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


def is_train_state(obj: Any) -> bool:
    """Whether an object read from a PyTorch file claims to be a training state."""
    return isinstance(obj, dict) and obj.get("format") == TRAIN_STATE_FORMAT


def load_train_state(path: str | Path, obj: Any = None) -> dict[str, Any]:
    """The training state at `path` (or `obj`, already read from it), its format checked."""
    state = safe_torch_load(path) if obj is None else obj
    if not is_train_state(state):
        raise CheckpointError(
            f"{path} is not an lmc training state (format {TRAIN_STATE_FORMAT!r})"
        )
    if state.get("format_version") != STATE_VERSION:
        raise CheckpointError(
            f"{path} has training-state version {state.get('format_version')}; expected {STATE_VERSION}"
        )
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path} is an incomplete training state: no {', '.join(missing)}")
    iteration = state["iteration"]
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise CheckpointError(f"{path} holds iteration {iteration!r}; expected an integer >= 0")
    return state
