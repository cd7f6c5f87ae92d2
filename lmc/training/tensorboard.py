"""A run's figures for TensorBoard (`--tensorboard DIR`), for users who live there.

The same numbers as `metrics.jsonl`: every record's scalars (losses, validation metrics beside
their baselines, the memory's health), the sample rollouts as images, and the memory's slots as
an embedding for TensorBoard's projector, tagged by slot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmc.errors import ConfigError


def _scalars(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Flatten a metrics record into "group/name" -> value for the numeric leaves."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_scalars(value, name + "/"))
        elif isinstance(value, int | float) and not isinstance(value, bool) and key != "iteration":
            out[name] = float(value)
    return out


class TensorBoardLog:
    def __init__(self, log_dir: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:  # an extra: pip install 'lmc[tensorboard]'
            raise ConfigError(
                f"tensorboard={log_dir}: the tensorboard package is missing ({err}); install "
                "it with pip install 'lmc[tensorboard]'"
            ) from None
        self.writer = SummaryWriter(str(log_dir))

    def record(self, record: dict[str, Any]) -> None:
        step = record["iteration"]
        for name, value in _scalars(record).items():
            self.writer.add_scalar(name, value, step)

    def rollouts(self, image: np.ndarray, step: int) -> None:
        """image (H, W, C) uint8: the strips of `save_samples`."""
        self.writer.add_image("samples/rollouts", image, step, dataformats="HWC")

    def slots(self, slots: torch.Tensor, step: int) -> None:
        size = slots.shape[0]
        self.writer.add_embedding(
            slots.detach().float().cpu(),
            metadata=[f"slot {k}" for k in range(size)],
            global_step=step,
            tag="memory/slots",
        )

    def close(self) -> None:
        self.writer.close()
