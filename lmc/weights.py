"""State dicts in and out of the model, below both checkpoint formats (ours and the authors').

`unwrap` finds the plain model inside DDP and torch.compile wrappers, so a checkpoint never
carries `module.` or `_orig_mod.` prefixes; `load_state_strict` lists every mismatch at once.

A checkpoint file is data, so what it declares is checked before anything is built from it:
`parameter_limit` bounds the model a file may ask for by the file's own size (a 100 KB file
cannot hold the weights of a 2 GB model, so it may not make us allocate one), and
`check_declared` compares the tensors it declares (names, shapes, dtypes: from a safetensors
header, or the tensors an authors' file holds) with the model its config builds, on the meta
device. Weights must be floating point and finite (`check_finite`): an integer, boolean or
complex tensor is no convolution's weight (loading one casts it silently, or drops an imaginary
part), and one NaN in a weight makes every prediction NaN, so such files are refused, naming
each tensor, rather than loaded with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lmc.config import MAX_PARAMETERS, ModelConfig
from lmc.errors import CheckpointError
from lmc.model import LMCMemoryModel, freeze

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
# A file's own bytes hold at most one weight per 2 bytes (float16 or bfloat16); the margin keeps
# the bound clear of its header for tiny models.
NARROWEST_WEIGHT_BYTES = 2
PARAMETER_MARGIN = 1_000_000


def unwrap(model: torch.nn.Module) -> LMCMemoryModel:
    """The plain model inside DDP (`.module`) and torch.compile (`._orig_mod`) wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def human_bytes(count: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= size:
            return f"{count / size:.{1 if count < 10 * size else 0}f} {unit}"
    return f"{count} bytes"


def parameter_limit(file_bytes: int) -> tuple[int, str]:
    """(the most parameters a checkpoint of `file_bytes` may ask for, the reason in words for an
    error message): its own bytes as 2-byte weights plus PARAMETER_MARGIN, and never more than
    MAX_PARAMETERS."""
    limit = file_bytes // NARROWEST_WEIGHT_BYTES + PARAMETER_MARGIN
    if limit >= MAX_PARAMETERS:
        return MAX_PARAMETERS, ""  # a file this large: the bound of every config
    return limit, (
        f" for this file (its own {human_bytes(file_bytes)} hold at most "
        f"{file_bytes // NARROWEST_WEIGHT_BYTES:,} weights of {NARROWEST_WEIGHT_BYTES} bytes; "
        f"the limit adds {PARAMETER_MARGIN:,})"
    )


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The state dict's shapes of the model `config` builds, from a build on the meta device
    (nothing allocated)."""
    with torch.device("meta"):
        model = LMCMemoryModel(config)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def parameter_shapes(config: ModelConfig, frozen: list[str] = ()) -> list[tuple[int, ...]]:
    """The shapes of the model's trainable parameters in `parameters()` order, the order an
    optimizer's state numbers them in (meta device, nothing allocated); `frozen`: the parts a
    run froze (`lmc.model.freeze`), which its optimizer does not hold."""
    with torch.device("meta"):
        model = LMCMemoryModel(config)
    freeze(model, list(frozen))
    return [tuple(p.shape) for p in model.parameters() if p.requires_grad]


def _mismatches(
    expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]
) -> list[str]:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [
        f"{k}: checkpoint {tuple(found[k])} vs model {tuple(expected[k])}"
        for k in sorted(set(expected) & set(found))
        if tuple(found[k]) != tuple(expected[k])
    ]
    parts = []
    if missing:
        parts.append(f"missing from the checkpoint: {', '.join(missing)}")
    if unexpected:
        parts.append(f"not in the model: {', '.join(unexpected)}")
    if wrong:
        parts.append(f"shape mismatch: {'; '.join(wrong)}")
    return parts


def check_float(
    declared: Mapping[str, tuple[tuple[int, ...], str, bool]], path: Path | str
) -> None:
    """CheckpointError naming each declared tensor that is not floating point."""
    not_float = [
        f"{k} is {dtype}" for k, (_, dtype, is_float) in sorted(declared.items()) if not is_float
    ]
    if not_float:
        raise CheckpointError(
            f"{path} holds weights that are not floating point ({', '.join(not_float[:8])}); "
            "weights must be float16, bfloat16, float32 or float64"
        )


def check_declared(
    declared: Mapping[str, tuple[tuple[int, ...], str, bool]],
    config: ModelConfig,
    path: Path | str,
) -> None:
    """CheckpointError unless the tensors a file declares, {name: (shape, dtype name, is a
    float)}, are exactly those of the model `config` builds, each of a floating-point type.
    Checked before any weight is read or the model built."""
    check_float(declared, path)
    parts = _mismatches(expected_shapes(config), {k: v[0] for k, v in declared.items()})
    if parts:
        raise CheckpointError(f"{path} does not match its model config: " + " | ".join(parts))


def tensor_declarations(
    state: Mapping[str, torch.Tensor],
) -> dict[str, tuple[tuple[int, ...], str, bool]]:
    """{name: (shape, dtype name, is a float)} of a state dict's tensors, for `check_declared`."""
    return {
        k: (tuple(v.shape), str(v.dtype).removeprefix("torch."), v.dtype in FLOAT_DTYPES)
        for k, v in state.items()
    }


def check_state_dict(state: Any, path: Path | str, what: str = "its model") -> None:
    """CheckpointError unless `state` is a dict of tensors with string keys."""
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{path}: {what} is a {type(state).__name__}; expected a dict of tensors"
        )
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f"{path}: {what} holds entries that are not named tensors ({', '.join(map(repr, bad[:8]))})"
        )


def check_finite(state: Mapping[str, torch.Tensor], path: Path | str) -> None:
    """CheckpointError naming every tensor that holds NaN or infinite values."""
    bad = []
    for key, value in state.items():
        finite = torch.isfinite(value)
        if not bool(finite.all()):
            nan = int(torch.isnan(value).sum())
            bad.append(f"{key} ({nan:,} NaN, {value.numel() - int(finite.sum()) - nan:,} infinite)")
    if bad:
        raise CheckpointError(
            f"{path} holds non-finite weights: {', '.join(bad[:8])}; a model with them predicts "
            "NaN everywhere (a training run that diverged?), so it is refused"
        )


def load_state_strict(
    model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path | str
) -> None:
    """Load a state dict, listing every missing, unexpected and mis-shaped tensor on mismatch."""
    check_state_dict(state, path, "the state dict")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    parts = _mismatches(expected, {k: tuple(v.shape) for k, v in state.items()})
    if parts:
        raise CheckpointError(f"{path} does not match its model config: " + " | ".join(parts))
    model.load_state_dict(state)
