"""Safe checkpoints: weights in safetensors, config and metadata as JSON in its header.

One loader serves the CLI, notebooks and dashboard, and it never unpickles arbitrary objects:
our own files are safetensors (no code inside by construction); plain PyTorch files, such as
the authors' checkpoints or our training-state files, go only through
`torch.load(weights_only=True)`, which refuses anything but tensors and primitive containers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lmc.config import ModelConfig
from lmc.errors import CheckpointError
from lmc.io import atomic_write, safe_torch_load
from lmc.model import LMCMemoryModel, build_model, check_parameter_budget
from lmc.official import model_from_official_state
from lmc.training.state import is_train_state, load_train_state
from lmc.weights import (
    check_declared,
    check_finite,
    check_state_dict,
    load_state_strict,
    parameter_limit,
    tensor_declarations,
    unwrap,
)

# The dtypes of a safetensors header that are floating point (the others: integers, BOOL, complex).
SAFETENSORS_FLOATS = ("F16", "BF16", "F32", "F64")

__all__ = [
    "CheckpointError",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load_checkpoint",
    "load_state_strict",
    "read_header",
    "save_checkpoint",
    "unwrap",
]

FORMAT_NAME = "lmc-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike, **metadata: Any) -> Path:
    """Write the model's weights and config, plus JSON-ready metadata (step, metrics, model card
    text, ...), atomically to `path` (conventionally `*.safetensors`)."""
    model = unwrap(model)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
    }
    try:
        header["metadata"] = json.loads(json.dumps(metadata, allow_nan=True))
    except TypeError as err:
        raise TypeError(f"checkpoint metadata must be JSON-serialisable: {err}") from None
    # safetensors refuses shared or non-contiguous storage: store independent contiguous copies.
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    return atomic_write(
        path, lambda tmp: save_file(state, tmp, metadata={"lmc": json.dumps(header)})
    )


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """A safetensors file (of `size` bytes, starting with `head`, its first 9) begins with its
    JSON header's length (8 bytes, little-endian), then the header's "{". The first byte alone
    does not tell it from a pickle: a header length whose low byte is 0x80 starts like a pickle's
    protocol marker."""
    if len(head) < 9 or head[8:9] != b"{":
        return False
    return int.from_bytes(head[:8], "little") <= size - 8


def load_checkpoint(
    path: str | os.PathLike, *, dataset: str | None = None, map_location: str | torch.device = "cpu"
) -> tuple[LMCMemoryModel, dict[str, Any]]:
    """Load any checkpoint this project understands -> (model, metadata).

    - our safetensors format;
    - our training-state files (`last.pt`, `lmc.training.state`), through `torch.load(weights_only=True)`;
    - the authors' checkpoints (a DataParallel state dict), also only through weights_only,
      imported by `lmc.official` (`dataset` "movingmnist" (default) or "kth" sets the image size
      and output activation, which the weights do not record).
    The model is in eval mode on `map_location`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        head = f.read(9)
    torch_file = head[:2] == b"PK" or head[:1] == b"\x80"
    if torch_file and not _looks_like_safetensors(head, path.stat().st_size):
        model, metadata = _load_torch_file(path, dataset)
    else:  # ours, or unreadable: the safetensors reader names what is wrong
        model, metadata = _load_safetensors(path)
    return model.to(map_location).eval(), metadata


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of one of our safetensors checkpoints (config, metadata), weights unread."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("lmc")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupted?): {err}"
        ) from None
    if raw is None:
        raise CheckpointError(
            f"{path} is a safetensors file without an lmc header; expected one written by save_checkpoint"
        )
    try:
        header = json.loads(raw)
    # RecursionError: JSON nested deeper than Python's stack; ValueError: JSONDecodeError, or an
    # integer of more digits than Python converts.
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{path} has a corrupted lmc header: {err}") from None
    if not isinstance(header, dict):
        raise CheckpointError(
            f"{path} has an lmc header of type {type(header).__name__}; expected a JSON object"
        )
    if not isinstance(header.get("metadata", {}), dict):
        raise CheckpointError(
            f"{path} has metadata of type {type(header['metadata']).__name__}; expected a JSON object"
        )
    if header.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path} has format {header.get('format')!r}; expected {FORMAT_NAME!r}"
        )
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {version!r}; this lmc reads version {FORMAT_VERSION} "
            "(a newer lmc may have written it: upgrade lmc)"
        )
    return header


def declared_tensors(path: Path) -> dict[str, tuple[tuple[int, ...], str, bool]]:
    """{name: (shape, dtype, is a float)} of the tensors a safetensors header declares, no
    weight read."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            slices = {key: f.get_slice(key) for key in f.keys()}
            return {
                key: (tuple(s.get_shape()), s.get_dtype(), s.get_dtype() in SAFETENSORS_FLOATS)
                for key, s in slices.items()
            }
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{path}: the weights cannot be read (truncated or corrupted?): {err}"
        ) from None


def _load_safetensors(path: Path) -> tuple[LMCMemoryModel, dict[str, Any]]:
    """The header's config is held to the file's own size and its declared tensors to the
    model it builds (on the meta device) before a weight is read or a parameter allocated."""
    header = read_header(path)
    config = config_from_header(header, path, file_bytes=path.stat().st_size)
    check_declared(declared_tensors(path), config, path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(
            f"{path}: the weights cannot be read (truncated or corrupted?): {err}"
        ) from None
    check_finite(state, path)
    model = build_model(config)
    load_state_strict(model, state, path)
    metadata = dict(header.get("metadata", {}))
    metadata.setdefault("format", "lmc")
    return model, metadata


def config_from_header(
    header: dict[str, Any], path: Path, file_bytes: int | None = None
) -> ModelConfig:
    """The model config a checkpoint's header (or training state) holds, its parameter count
    held to MAX_PARAMETERS, or, given the file's size, to what that file can hold
    (`lmc.weights.parameter_limit`), before any weight is allocated."""
    try:
        config = ModelConfig.from_dict(header["config"])
        if file_bytes is None:
            check_parameter_budget(config)
        else:
            check_parameter_budget(config, *parameter_limit(file_bytes))
        return config
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path} holds an invalid model config: {err}") from None


def _load_torch_file(path: Path, dataset: str | None) -> tuple[LMCMemoryModel, dict[str, Any]]:
    obj = safe_torch_load(path)
    if is_train_state(obj):
        obj = load_train_state(path, obj)
        config = config_from_header(obj, path, file_bytes=path.stat().st_size)
        check_state_dict(obj["model"], path)
        check_declared(tensor_declarations(obj["model"]), config, path)
        check_finite(obj["model"], path)
        model = build_model(config)
        load_state_strict(model, obj["model"], path)
        if not isinstance(obj.get("metadata", {}), dict):
            raise CheckpointError(
                f"{path} has metadata of type {type(obj['metadata']).__name__}; expected a dict"
            )
        metadata = dict(obj.get("metadata", {}))
        metadata.update(format="lmc-train-state", step=obj.get("iteration"))
        return model, metadata
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        model = model_from_official_state(
            obj, dataset or "movingmnist", source=str(path), file_bytes=path.stat().st_size
        )
        return model, {
            "format": "official",
            "dataset": dataset or "movingmnist",
            "source": str(path),
        }
    raise CheckpointError(
        f"{path} is a PyTorch file but neither an lmc training state nor a state dict of tensors "
        f"(found {type(obj).__name__})"
    )
