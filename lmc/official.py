"""Import (and export) checkpoints of the authors' LMC-Memory code.

The authors save `torch.save(nn.DataParallel(model).state_dict())`: every key starts with
`module.`, the ConvLSTM cells hold two convolutions (`conv2d_x`, `conv2d_h`), and the memory
matrix is `memory.memory_w`. Everything else already shares our Sequential indices, so the import
is a renaming plus one concatenation per ConvLSTM cell (see `lmc.nn.convlstm` for why the two
forms compute the same function). The file is read with `torch.load(weights_only=True)` only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from lmc.config import ModelConfig
from lmc.errors import CheckpointError
from lmc.io import safe_torch_load
from lmc.model import LMCMemoryModel, build_model, check_parameter_budget
from lmc.weights import (
    check_declared,
    check_finite,
    check_float,
    load_state_strict,
    parameter_limit,
    tensor_declarations,
)

DATASETS = {
    "movingmnist": dict(image_size=64, output_activation="none"),
    "kth": dict(image_size=128, output_activation="sigmoid"),
}

# Official prefix -> our prefix, for every tensor that maps one to one.
_RENAMES = (
    ("encoder.", "frame_encoder."),
    ("decoder.", "frame_decoder."),
    ("memory.memory_w", "memory.slots"),
    ("memory.motion_matching_encoder.", "memory.matching_encoder."),
    ("memory.motion_context_encoder.", "memory.context_encoder."),
    ("memory.embedder.", "memory.embedder."),
    ("attention_func.", "fusion.gate."),
)
_CELL = re.compile(r"convlstm_list\.(\d+)\.conv2d_([xh])\.(weight|bias)$")


def strip_parallel_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop DataParallel's `module.` (and torch.compile's `_orig_mod.`) key prefixes."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def official_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an official state dict into this project's names and fused ConvLSTM weights."""
    state = strip_parallel_prefix(state)
    ours: dict[str, torch.Tensor] = {}
    cells: dict[int, dict[str, torch.Tensor]] = {}
    unknown = []
    for key, value in state.items():
        match = _CELL.match(key)
        if match:
            layer, part, kind = match.groups()
            cells.setdefault(int(layer), {})[f"{kind}_{part}"] = value
            continue
        for old, new in _RENAMES:
            if key.startswith(old):
                ours[new + key[len(old) :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f"not an LMC-Memory checkpoint: unrecognised keys {unknown[:8]}")
    for layer, parts in sorted(cells.items()):
        missing = {"weight_x", "weight_h", "bias_x", "bias_h"} - set(parts)
        if missing:
            raise ValueError(
                f"ConvLSTM layer {layer} lacks {sorted(missing)} in the official checkpoint"
            )
        x, h = parts["weight_x"].shape, parts["weight_h"].shape
        # The two convolutions are joined along their input channels: all else must agree.
        if len(x) != 4 or len(h) != 4 or x[0] != h[0] or x[2:] != h[2:]:
            raise ValueError(
                f"ConvLSTM layer {layer}: conv2d_x.weight {tuple(x)} and conv2d_h.weight "
                f"{tuple(h)} must be 4-d convolutions with the same outputs and kernel"
            )
        ours[f"convlstm.cells.{layer}.weight"] = torch.cat(
            [parts["weight_x"], parts["weight_h"]], dim=1
        )
        ours[f"convlstm.cells.{layer}.bias_x"] = parts["bias_x"]
        ours[f"convlstm.cells.{layer}.bias_h"] = parts["bias_h"]
    return ours


def ours_to_official(model: LMCMemoryModel) -> dict[str, torch.Tensor]:
    """The reverse: a state dict the authors' code loads (with `module.` prefixes)."""
    out = {}
    for key, value in model.state_dict().items():
        cell = re.match(r"convlstm\.cells\.(\d+)\.(weight|bias_x|bias_h)$", key)
        if cell:
            layer, name = cell.groups()
            base = f"module.convlstm_list.{layer}"
            if name == "weight":
                n_in = model.convlstm.cells[int(layer)].in_channels
                out[f"{base}.conv2d_x.weight"] = value[:, :n_in].clone()
                out[f"{base}.conv2d_h.weight"] = value[:, n_in:].clone()
            else:
                out[f"{base}.conv2d_{name[-1]}.bias"] = value.clone()
            continue
        for old, new in _RENAMES:
            if key.startswith(new):
                out["module." + old + key[len(new) :]] = value.clone()
                break
    return out


# The tensors whose shapes give the architecture, and their number of dimensions.
_RANKS = {
    "encoder.0.weight": 4,
    "encoder.4.weight": 4,
    "convlstm_list.0.conv2d_h.weight": 4,
    "memory.motion_matching_encoder.0.weight": 5,
    "memory.motion_matching_encoder.3.weight": 5,
    "memory.motion_matching_encoder.6.weight": 5,
    "memory.memory_w": 2,
    "memory.embedder.0.weight": 4,
    "memory.embedder.2.weight": 4,
    "attention_func.2.weight": 2,
}


def config_from_official(state: dict[str, torch.Tensor], dataset: str) -> ModelConfig:
    """Infer the architecture from the official tensors' shapes; `dataset` gives the image size and
    output activation, which the weights do not record."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)}")
    s = strip_parallel_prefix(state)
    for key, rank in _RANKS.items():
        if key in s and s[key].dim() != rank:
            raise ValueError(
                f"not an LMC-Memory checkpoint: {key} has shape {tuple(s[key].shape)}; "
                f"expected {rank} dimensions"
            )
    cells = [int(m.group(1)) for k in s if (m := _CELL.match(k))]
    if not cells:
        raise ValueError("not an LMC-Memory checkpoint: it holds no ConvLSTM cell (convlstm_list)")
    try:
        layers = 1 + max(cells)
        enc = "memory.motion_matching_encoder"
        return ModelConfig(
            image_channels=s["encoder.0.weight"].shape[1],
            encoder_channels=(s["encoder.0.weight"].shape[0], s["encoder.4.weight"].shape[0]),
            lstm_channels=s["convlstm_list.0.conv2d_h.weight"].shape[1],
            lstm_layers=layers,
            motion_channels=(
                s[f"{enc}.0.weight"].shape[0],
                s[f"{enc}.3.weight"].shape[0],
                s[f"{enc}.6.weight"].shape[0],
            ),
            memory_dim=s["memory.memory_w"].shape[1],
            memory_size=s["memory.memory_w"].shape[0],
            embedder_channels=s["memory.embedder.0.weight"].shape[1],
            feature_channels=s["memory.embedder.2.weight"].shape[1],
            attention_hidden=s["attention_func.2.weight"].shape[0],
            **DATASETS[dataset],
        )
    except KeyError as err:
        raise ValueError(
            f"not an LMC-Memory checkpoint: cannot find {err} among its keys"
        ) from None
    except ValueError as err:  # ConfigError: shapes no model of ours has
        raise ValueError(f"its tensors' shapes give no valid model: {err}") from None


def check_storage(state: dict[str, torch.Tensor]) -> None:
    """ValueError for a tensor whose storage is smaller than its shape: a stride-0 expansion
    lets a few bytes in a file declare a matrix of gigabytes, which copying would allocate."""
    for key, value in state.items():
        needed = value.numel() * value.element_size()
        if needed and value.untyped_storage().nbytes() < needed:
            raise ValueError(
                f"tensor {key} declares {tuple(value.shape)} over "
                f"{value.untyped_storage().nbytes():,} bytes of storage (an expanded view)"
            )


def model_from_official_state(
    state: dict[str, torch.Tensor],
    dataset: str = "movingmnist",
    source: str = "state dict",
    file_bytes: int | None = None,
) -> LMCMemoryModel:
    """Our model holding an authors' state dict. The architecture read from the tensors'
    shapes is held to the file's own size (`file_bytes`, when the state comes from a file) and
    every tensor to the model it builds, on the meta device, before anything is allocated;
    weights must be floating point and finite (`lmc.weights`)."""
    check_float(tensor_declarations(state), source)  # under the authors' names
    try:
        check_storage(state)
        config = config_from_official(state, dataset)
        if file_bytes is None:
            check_parameter_budget(config)
        else:
            check_parameter_budget(config, *parameter_limit(file_bytes))
        ours = official_to_ours(state)
    except ValueError as err:  # CheckpointError and ConfigError among them
        raise CheckpointError(f"{source}: {err}") from None
    check_declared(tensor_declarations(ours), config, source)
    check_finite(ours, source)
    model = build_model(config)
    load_state_strict(model, ours, source)
    return model.eval()


def import_official(path: str | os.PathLike, dataset: str = "movingmnist") -> LMCMemoryModel:
    """Load a checkpoint saved by the authors' code into our model (eval mode, CPU)."""
    path = Path(path)
    state = safe_torch_load(path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return model_from_official_state(
        state, dataset, source=str(path), file_bytes=path.stat().st_size
    )
