"""What a run checks before it continues another, and before it writes anything.

    path = resume_path(cfg, run_dir)             # None: a fresh run
    resume = open_resume(path, cfg, model_cfg)   # loads and checks; nothing written yet
    resume.restore(model, optimizer, source)     # weights, optimizer, data position, RNG, lr

A resume may change only the settings in `lmc.training.config.RESUME_MAY_CHANGE`; any other
difference from the run's saved settings is refused with a ConfigError that lists it. A changed
learning rate is applied to the resumed optimizer (its saved state holds the old one, which
would otherwise silently win) and recorded: in config.json's `resumed` entry, and in the `lr`
of every later metrics record. A run directory that holds a training state is continued only
when asked (`resume="auto"` or a path): training there from scratch would overwrite it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lmc.config import ModelConfig
from lmc.errors import CheckpointError, ConfigError
from lmc.training.config import TrainConfig, resume_changes
from lmc.training.state import check_train_state, load_train_state, restore_rng
from lmc.weights import load_state_strict

STATE_NAME = "last.pt"
# What a run writes into its folder (and samples/iter_*.png): a fresh run into a folder holding
# any of them would overwrite its config and best model, cut its metrics and mix its samples.
RUN_FILES = (STATE_NAME, "best.safetensors", "last.safetensors", "metrics.jsonl", "config.json")
SAMPLES = ("samples", "iter_*.png")


def previous_run(run_dir: Path) -> list[Path]:
    """The files of an earlier run in `run_dir` (none for a new or empty folder)."""
    found = [run_dir / name for name in RUN_FILES if (run_dir / name).exists()]
    return found + sorted((run_dir / SAMPLES[0]).glob(SAMPLES[1]))


def clear_previous_run(run_dir: Path) -> list[Path]:
    """Delete the files of an earlier run in `run_dir` (`--overwrite`), nothing else there."""
    found = previous_run(run_dir)
    for path in found:
        path.unlink()
    return found


def resume_path(cfg: TrainConfig, run_dir: Path) -> Path | None:
    """The training state this run continues, or None for a fresh run. ConfigError for a named
    state file that does not exist, and for a fresh run into a folder that holds a run unless
    `overwrite` asks for it. `resume="auto"` without a last.pt starts over (a run killed before
    its first checkpoint), over what that run left."""
    last = run_dir / STATE_NAME
    if cfg.resume == "auto":
        return last if last.exists() else None
    if cfg.resume:
        path = Path(cfg.resume)
        if not path.is_file():
            raise ConfigError(f"resume={cfg.resume}: no such training state file")
        return path
    found = previous_run(run_dir)
    if found and not cfg.overwrite:
        names = ", ".join(str(p.relative_to(run_dir)) for p in found[:6])
        more = f" and {len(found) - 6} more" if len(found) > 6 else ""
        how = (
            "pass --resume auto to continue it from its last.pt"
            if last.exists()
            else "it has no last.pt to continue from (--resume auto would start it over too)"
        )
        raise ConfigError(
            f"{run_dir} already holds a run ({names}{more}): {how}; pass --overwrite to "
            "replace it, or choose another run_dir. Training here from scratch would overwrite "
            "its config and best model, cut its metrics and mix in its old samples"
        )
    return None


@dataclass
class Resume:
    """A loaded and checked training state. changed: {setting: (saved value, value now)}."""

    path: Path
    state: dict[str, Any]
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def iteration(self) -> int:
        return self.state["iteration"]

    @property
    def best_val(self) -> float | None:
        return self.state["best_val"]

    def record(self) -> dict[str, Any]:
        """What config.json keeps of this resume."""
        return {
            "from": str(self.path),
            "iteration": self.iteration,
            "changed": {k: list(v) for k, v in self.changed.items()},
        }

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, source) -> None:
        """Put the weights, optimizer, data position and random state back, then apply a
        changed learning rate; CheckpointError when the state does not fit."""
        state = self.state
        load_state_strict(model, state["model"], self.path)
        try:
            optimizer.load_state_dict(state["optimizer"])
            source.load_state_dict(state["data"])
            restore_rng(state["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
            raise CheckpointError(
                f"{self.path}: the training state cannot be restored: {err}"
            ) from None
        if "lr" in self.changed:
            for group in optimizer.param_groups:
                group["lr"] = self.changed["lr"][1]


def open_resume(path: Path, cfg: TrainConfig, model_cfg: ModelConfig) -> Resume:
    """The training state at `path`, checked against this run's settings and model."""
    state = load_train_state(path)
    saved = state["train_config"]
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path} holds no training settings (train_config)")
    changed = resume_changes(cfg, saved, str(path))
    now = model_cfg.to_dict()
    saved_model = state["config"] if isinstance(state["config"], dict) else {}
    # A model field added after the state was saved reads as its default there, as a training
    # setting does (resume_changes): the state was trained without it.
    saved_model = {**ModelConfig().to_dict(), **saved_model}
    differ = sorted(k for k in set(now) | set(saved_model) if saved_model.get(k) != now.get(k))
    if differ:
        details = ", ".join(f"{k} {saved_model.get(k)!r} there, {now.get(k)!r} now" for k in differ)
        raise ConfigError(
            f"{path} holds another model ({details}): resume with the run's own settings (its "
            "config.json) or train into a new run_dir"
        )
    check_train_state(state, model_cfg, path)
    return Resume(path, state, changed)
