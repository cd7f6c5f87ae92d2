"""Which torch device a command runs on: `resolve_device("auto" | "cpu" | "cuda" | "cuda:N" | "mps")`.

Names are checked before anything runs, with a message that lists the valid ones, rather than
left to torch's own error deep inside a run.
"""

from __future__ import annotations

import re

from lmc.errors import ConfigError

DEVICE_NAME = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
VALID_DEVICES = "auto, cpu, cuda, cuda:N (N a GPU number) or mps"


def check_device_name(name: object) -> str:
    """`name` when it is a device name this project accepts; ConfigError otherwise."""
    if not isinstance(name, str) or DEVICE_NAME.fullmatch(name) is None:
        raise ConfigError(f"device={name!r}: must be {VALID_DEVICES}")
    return name


def resolve_device(name: str):
    """The torch.device for `name` on this machine (auto: cuda when available, else cpu);
    ConfigError for a device this machine does not have."""
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={name}: CUDA is not available on this machine; use cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"device={name}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}"
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device={name}: MPS is not available on this machine; use cpu")
    return device
