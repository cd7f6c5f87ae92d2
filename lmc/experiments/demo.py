"""The bundled demo model, with an untrained stand-in for smoke runs where it is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lmc.checkpoint import load_checkpoint
from lmc.demos import DEMO_CHECKPOINT  # repository-relative, as the notebooks use it
from lmc.model import LMCMemoryModel, build_model

__all__ = ["DEMO_CHECKPOINT", "load_demo_model"]


def load_demo_model(
    path: str | Path = DEMO_CHECKPOINT, *, fallback: str | None = None, seed: int = 0
) -> tuple[LMCMemoryModel, dict[str, Any]]:
    """The demo checkpoint -> (model in eval mode, metadata).

    Where the file is missing and `fallback` names a preset (e.g. "tiny"), a freshly built,
    untrained model of that preset stands in (metadata["format"] == "untrained"), so that a
    notebook still runs from top to bottom; its predictions mean nothing.
    """
    path = Path(path)
    if path.is_file():
        return load_checkpoint(path)
    if fallback is None:
        raise FileNotFoundError(
            f"the demo model is not at {path.resolve()}: train one (see the README: "
            "`python -m train.train --preset small --short_len 10 --long_len 20 --out_len 10 "
            "--batch_size 16 --lr 1e-3 --iterations 3000 --iterations_warmup 0 ...`) and copy "
            "its best.safetensors there, or pass fallback='tiny' for an untrained stand-in"
        )
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(seed)
        model = build_model(fallback).eval()
    note = f"{path} is missing: an untrained {fallback!r} model stands in"
    return model, {"format": "untrained", "preset": fallback, "note": note}
