"""Training state files (`last.pt`): everything a run needs to continue exactly where it stopped.

A plain dict of tensors and primitive values written with `torch.save` (atomically) and read
back with `torch.load(weights_only=True)`. This module alone writes and reads the format, and
checks its name and version on every read; `lmc.load_checkpoint` opens it through
`load_train_state` for the model alone.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import torch

from lmc.config import ModelConfig
from lmc.errors import CheckpointError
from lmc.io import atomic_write, safe_torch_load
from lmc.model import PARTS, parse_parts
from lmc.weights import (
    check_declared,
    check_finite,
    check_state_dict,
    parameter_shapes,
    tensor_declarations,
    unwrap,
)

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


# ------------------------------------------------------------------------- a state checked whole
# Adam's per-parameter tensors, each of its parameter's shape; and its hyperparameters that step()
# computes with.
_MOMENTS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
_NUMBERS = ("lr", "eps", "weight_decay")
# Python's Mersenne Twister state: 624 words and a position (random.getstate()[1]).
_PYTHON_STATE_WORDS = 625


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_train_state(state: dict[str, Any], config: ModelConfig, path: str | Path) -> None:
    """CheckpointError unless every part of a training state is what a resumed run will use:
    the model's weights for `config`, an Adam state of its parameters' shapes, random states of
    the right form, a data position and a best validation figure. A resume checks all of it
    before anything is written, so a forged or damaged state cannot fail halfway through."""
    check_state_dict(state["model"], path)
    check_declared(tensor_declarations(state["model"]), config, path)
    check_finite(state["model"], path)
    _check_optimizer(state["optimizer"], parameter_shapes(config, _frozen(state, path)), path)
    _check_rng(state["rng"], path)
    data = state["data"]
    if not isinstance(data, dict) or not (
        isinstance(data.get("batch_index"), int)
        and not isinstance(data["batch_index"], bool)
        and data["batch_index"] >= 0
    ):
        raise CheckpointError(
            f"{path} holds data position {data!r}; expected a dict with an integer batch_index >= 0"
        )
    best = state["best_val"]
    if best is not None and not _number(best):
        raise CheckpointError(f"{path} holds best_val {best!r}; expected a finite number or None")
    if not isinstance(state.get("metadata", {}), dict):
        raise CheckpointError(
            f"{path} has metadata of type {type(state['metadata']).__name__}; expected a dict"
        )


def _frozen(state: dict[str, Any], path: str | Path) -> list[str]:
    """The parts the run froze (its train config's `freeze`), which its optimizer does not hold."""
    train_config = state.get("train_config")
    value = train_config.get("freeze", "") if isinstance(train_config, dict) else ""
    if not isinstance(value, str):
        raise CheckpointError(f"{path} holds freeze {value!r}; expected comma-separated parts")
    parts = parse_parts(value)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise CheckpointError(f"{path} froze {unknown}, not among {PARTS}")
    return parts


def _check_optimizer(optimizer: Any, shapes: list[tuple[int, ...]], path: str | Path) -> None:
    where = f"{path}: the optimizer state"
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("state"), dict)
        and isinstance(optimizer.get("param_groups"), list)
        and all(
            isinstance(g, dict) and isinstance(g.get("params"), list)
            for g in optimizer["param_groups"]
        )
    ):
        raise CheckpointError(
            f"{where} is a {type(optimizer).__name__} without the state and param_groups of "
            "torch.optim.Adam's state_dict"
        )
    numbered = [i for group in optimizer["param_groups"] for i in group["params"]]
    if numbered != list(range(len(shapes))):
        raise CheckpointError(
            f"{where} numbers {len(numbered)} parameters; the model has {len(shapes)}"
        )
    for group in optimizer["param_groups"]:
        bad = [k for k in _NUMBERS if k in group and not _number(group[k])]
        betas = group.get("betas", (0.9, 0.999))
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2 and all(map(_number, betas))):
            bad.append("betas")
        if bad:
            raise CheckpointError(
                f"{where} has hyperparameters that are not finite numbers: "
                + ", ".join(f"{k}={group.get(k)!r}" for k in bad)
            )
    for index, entry in optimizer["state"].items():
        if not (isinstance(index, int) and 0 <= index < len(shapes) and isinstance(entry, dict)):
            raise CheckpointError(f"{where} holds an entry {index!r} for no parameter")
        step = entry.get("step", 0)
        if isinstance(step, torch.Tensor):
            step = float(step) if step.numel() == 1 else None
        if not _number(step) or step < 0:
            raise CheckpointError(f"{where}: parameter {index} has step {entry.get('step')!r}")
        for name in _MOMENTS:
            value = entry.get(name)
            if name not in entry:
                continue
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shapes[index]:
                found = (
                    tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                )
                raise CheckpointError(
                    f"{where}: parameter {index}'s {name} is {found}; the parameter is {shapes[index]}"
                )
            if not value.is_floating_point() or not bool(torch.isfinite(value).all()):
                raise CheckpointError(
                    f"{where}: parameter {index}'s {name} is not a finite floating-point tensor"
                )


def _check_rng(rng: Any, path: str | Path) -> None:
    torch_state = rng.get("torch") if isinstance(rng, dict) else None
    python_state = rng.get("python") if isinstance(rng, dict) else None
    expected = torch.get_rng_state()
    if not (
        isinstance(torch_state, torch.Tensor)
        and torch_state.dtype == expected.dtype
        and torch_state.shape == expected.shape
    ):
        raise CheckpointError(
            f"{path}: the random state holds no torch generator state of {expected.numel()} bytes"
        )
    if not (
        isinstance(python_state, list)
        and len(python_state) == _PYTHON_STATE_WORDS
        and all(isinstance(w, int) and not isinstance(w, bool) for w in python_state)
        and all(0 <= w < 2**32 for w in python_state)
        and python_state[-1] <= _PYTHON_STATE_WORDS - 1
    ):
        raise CheckpointError(
            f"{path}: the random state holds no Python generator state of "
            f"{_PYTHON_STATE_WORDS} 32-bit words"
        )
    cuda = rng.get("cuda", [])
    if not isinstance(cuda, list) or not all(
        isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in cuda
    ):
        raise CheckpointError(f"{path}: the random state's CUDA part is not a list of byte tensors")
