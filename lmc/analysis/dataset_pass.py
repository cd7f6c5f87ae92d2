"""One pass of the memory over a sample of clips, kept on disk for the dashboard's dataset views.

For every clip the pass addresses the memory from the short input (phase 2, the matching encoder:
what inference does) and, when the clip continues past the input, from the long-term window
(phase 1, the context encoder; Lee et al., CVPR 2021, sec. 3.3). It keeps the queries, cosines,
weights and readouts of every cell as float32, and beside them what we know about the clip: the
true motion each cell saw and the digit labels (generated Moving-MNIST), or KTH action labels.

No frame is predicted: the recall needs the motion encoder and the addressing only, so 2,000
clips take well under a minute on one CPU core for the demo-size model. The result is written
once to `<cache>/analysis/<model hash>-<selection hash>.npz` (atomically) and reused after that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmc.analysis.slots import motion_energy
from lmc.config import MIN_MOTION_FRAMES
from lmc.data.motion import cell_motion
from lmc.viz import to_uint8

FORMAT_VERSION = 2  # 2: cell_digit is signed (-1 for an empty cell)
# Clips per batch when none is given: small on a CPU. Large batches used to lose most of their
# time to page faults (1.7 s for 256 clips at batch 4, 4.1 s at batch 64); `lmc.allocator` has
# removed those, and batch 4 is still at least as fast as 16 (127 and 120 clips/s over 500 clips,
# `python -m lmc.bench cpu --tasks pass --presets small:4,small:16`, 2026-12-03).
CPU_BATCH, CUDA_BATCH = 4, 64
PHASE_FIELDS = ("query", "cosine", "weights", "readout")
Progress = Callable[[int, int], None]


@dataclass
class DatasetPass:
    """The recall of N clips, cells in row-major order of `grid`.

    short_* (N, cells, D or S) float32: the phase-2 recall from the input frames; long_* the
    phase-1 recall from the long window, None when the clips have no future. slots (S, D) the
    memory. last_frame (N, H, W) uint8 the last input frame, energy (N, H, W) uint8 the motion
    energy of the input (mean absolute frame difference, x255), for patch galleries.
    direction, speed, occupancy (N, cells): the true motion of each cell over the input frames
    (`lmc.data.motion.cell_motion`; NaN where no digit passed); cell_digit (N, cells) the class
    of the digit that covered the cell most over the input, -1 where none; labels (N, digits) the
    digit classes; actions (N,) KTH action indices into action_names; all None when unknown.
    With motion contexts (`lmc.data.motion_contexts`): families (N, digits) each digit's family,
    cell_family (N, cells) the family of the digit that covered the cell most over the input (-1
    where none) and family_coverage (N, cells) how much of the cell it covered per input frame;
    None for clips without families.
    clip_index (N,) the position of each clip in the source; selection: what was passed over.
    """

    short_query: np.ndarray
    short_cosine: np.ndarray
    short_weights: np.ndarray
    short_readout: np.ndarray
    slots: np.ndarray
    grid: tuple[int, int]
    last_frame: np.ndarray
    energy: np.ndarray
    clip_index: np.ndarray
    long_query: np.ndarray | None = None
    long_cosine: np.ndarray | None = None
    long_weights: np.ndarray | None = None
    long_readout: np.ndarray | None = None
    direction: np.ndarray | None = None
    speed: np.ndarray | None = None
    occupancy: np.ndarray | None = None
    cell_digit: np.ndarray | None = None
    labels: np.ndarray | None = None
    actions: np.ndarray | None = None
    action_names: tuple[str, ...] = ()
    families: np.ndarray | None = None
    cell_family: np.ndarray | None = None
    family_coverage: np.ndarray | None = None
    selection: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def has_families(self) -> bool:
        return self.cell_family is not None

    @property
    def num_clips(self) -> int:
        return self.short_weights.shape[0]

    @property
    def num_cells(self) -> int:
        return self.short_weights.shape[1]

    @property
    def memory_size(self) -> int:
        return self.short_weights.shape[2]

    @property
    def has_long(self) -> bool:
        return self.long_weights is not None

    def phase(self, which: str) -> dict[str, np.ndarray]:
        """{"query", "cosine", "weights", "readout"} of the "short" or "long" recall."""
        if which not in ("short", "long"):
            raise ValueError(f"which={which!r}: must be 'short' or 'long'")
        if which == "long" and not self.has_long:
            raise ValueError("this pass has no long-term recall (the clips had no future)")
        return {name: getattr(self, f"{which}_{name}") for name in PHASE_FIELDS}


# --------------------------------------------------------------------------------- the pass


def _as_float_clips(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(B, T, H, W) uint8 or (B, T, C, H, W) floats in [0, 1] -> float32 (B, T, C, H, W)."""
    if isinstance(frames, np.ndarray):
        if frames.dtype == np.uint8:
            tensor = torch.from_numpy(np.divide(frames, 255.0, dtype=np.float32))
        else:
            tensor = torch.from_numpy(np.asarray(frames, dtype=np.float32))
    else:
        tensor = frames.float()
    return tensor.unsqueeze(2) if tensor.dim() == 4 else tensor


def _gray_uint8(frames: torch.Tensor) -> np.ndarray:
    """(B, T, C, H, W) in [0, 1] -> (B, T, H, W) uint8, channels averaged."""
    return to_uint8(frames.mean(dim=2, keepdim=True))[..., 0]


@torch.inference_mode()
def run_dataset_pass(
    model: torch.nn.Module,
    frames: np.ndarray | torch.Tensor,
    short_len: int,
    *,
    long_len: int | None = None,
    batch_size: int | None = None,
    positions: np.ndarray | None = None,
    velocities: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    actions: np.ndarray | None = None,
    action_names: Sequence[str] = (),
    families: np.ndarray | None = None,
    progress: Progress | None = None,
    selection: dict[str, Any] | None = None,
) -> DatasetPass:
    """Address the memory for every clip of `frames` (N, T, H, W) uint8 or (N, T, C, H, W) floats.

    The input is frames[:, :short_len]; the long window frames[:, :long_len] (default: the whole
    clip when it is longer than the input and long enough for the motion encoder, else no phase 1).
    positions and velocities (N, T, D, 2), the generator's metadata, give each cell's true motion;
    labels (N, D) the digits; actions (N,) KTH action indices; families (N, D) the digits' motion
    families (with positions: each cell's family). progress(done, total) after every
    batch. batch_size defaults to CPU_BATCH or CUDA_BATCH by the model's device.
    """
    memory = getattr(model, "memory", None)
    if memory is None:
        raise ValueError("this model has no memory (built with memory=False): nothing to recall")
    n, t = frames.shape[:2]
    if n < 1:
        raise ValueError("the dataset pass needs at least one clip")
    if not MIN_MOTION_FRAMES <= short_len <= t:
        raise ValueError(
            f"short_len={short_len}: must be between {MIN_MOTION_FRAMES} (the motion encoder's "
            f"minimum) and the clip length {t}"
        )
    if long_len is None:
        long_len = t if t > short_len else 0
    if long_len and not MIN_MOTION_FRAMES <= long_len <= t:
        raise ValueError(f"long_len={long_len}: must be between {MIN_MOTION_FRAMES} and {t}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    channels = model.config.image_channels
    if batch_size is None:
        batch_size = CUDA_BATCH if device.type == "cuda" else CPU_BATCH
    phases = {"short": 2} | ({"long": 1} if long_len else {})
    out: dict[str, list[np.ndarray]] = {f"{p}_{f}": [] for p in phases for f in PHASE_FIELDS} | {
        "last_frame": [],
        "energy": [],
    }
    try:
        for start in range(0, n, batch_size):
            batch = _as_float_clips(frames[start : start + batch_size])
            if batch.shape[2] == 1 and channels > 1:  # gray clips for a colour model
                batch = batch.expand(-1, -1, channels, -1, -1)
            windows = {"short": batch[:, :short_len], "long": batch[:, :long_len]}
            for name, phase in phases.items():
                query, grid = model.encode_motion(windows[name].to(device), phase)
                cosine, weights, readout = model.address(query)
                for field, value in zip(
                    PHASE_FIELDS, (query, cosine, weights, readout), strict=True
                ):
                    out[f"{name}_{field}"].append(value.float().cpu().numpy())
            gray = _gray_uint8(batch[:, :short_len])
            out["last_frame"].append(gray[:, -1])
            energy = motion_energy(gray)
            out["energy"].append(to_uint8(energy[:, None])[..., 0])
            if progress is not None:
                progress(min(start + batch_size, n), n)
    finally:
        model.train(was_training)
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    # A global query (the paper's ablation) is one cell covering the whole frame.
    grid = tuple(grid) if arrays["short_weights"].shape[1] == grid[0] * grid[1] else (1, 1)
    result = DatasetPass(
        **arrays,
        slots=memory.slots.detach().float().cpu().numpy(),
        grid=grid,
        clip_index=np.arange(n),
        labels=None if labels is None else np.asarray(labels),
        actions=None if actions is None else np.asarray(actions),
        action_names=tuple(action_names),
        selection=dict(selection or {}),
    )
    if positions is not None and velocities is not None:
        size = frames.shape[-1]
        motion = cell_motion(positions, velocities, size, grid, frames=slice(0, short_len))
        result.direction = motion.direction.astype(np.float32)
        result.speed = motion.speed.astype(np.float32)
        result.occupancy = motion.occupancy.astype(np.float32)
        if labels is not None:
            result.cell_digit = _cell_digit(positions, velocities, labels, size, grid, short_len)
    if positions is not None and families is not None:
        from lmc.data.motion_contexts import cell_family

        size = frames.shape[-1]
        family, coverage = cell_family(positions, families, size, grid, slice(0, short_len))
        result.families = np.asarray(families).astype(np.int16)
        result.cell_family = family.astype(np.int16)
        result.family_coverage = coverage.astype(np.float32)
    return result


def _cell_digit(
    positions: np.ndarray,
    velocities: np.ndarray,
    labels: np.ndarray,
    size: int,
    grid: tuple[int, int],
    short_len: int,
) -> np.ndarray:
    """(N, cells) class of the digit whose box covered each cell most over the input, else -1."""
    coverage = np.stack(
        [
            cell_motion(
                positions[:, :, d : d + 1],
                velocities[:, :, d : d + 1],
                size,
                grid,
                frames=slice(0, short_len),
            ).coverage
            for d in range(positions.shape[2])
        ],
        axis=-1,
    )  # (N, cells, D)
    best = coverage.argmax(axis=-1)
    labels = np.asarray(labels).astype(np.int16)  # signed: -1 marks an empty cell
    digit = np.take_along_axis(labels[:, None, :], best[..., None], axis=-1)[..., 0]
    return np.where(coverage.max(axis=-1) > 0, digit, np.int16(-1))


# --------------------------------------------------------------------------------- the cache


def model_hash(model: torch.nn.Module) -> str:
    """sha256 of the model's config and weights: the same checkpoint gives the same hash."""
    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        digest.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def selection_hash(selection: dict[str, Any]) -> str:
    """sha256 of a JSON-ready description of the clips (set, seed, count, lengths)."""
    text = json.dumps(selection, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_root() -> Path:
    """`$LMC_CACHE_DIR/analysis` if that variable is set, else `./.lmc-cache/analysis`."""
    base = os.environ.get("LMC_CACHE_DIR")
    return (Path(base) if base else Path.cwd() / ".lmc-cache") / "analysis"


def cache_path(model_key: str, selection: dict[str, Any], root: str | Path | None = None) -> Path:
    root = cache_root() if root is None else Path(root)
    return root / f"{model_key[:16]}-{selection_hash(selection)[:16]}.npz"


def save_pass(result: DatasetPass, path: str | Path) -> Path:
    """Write a pass as one .npz (no pickles), atomically."""
    from lmc.io import atomic_write

    arrays: dict[str, np.ndarray] = {}
    for field in dataclasses.fields(DatasetPass):
        value = getattr(result, field.name)
        if value is None:
            continue
        if field.name in ("grid", "action_names"):
            value = np.asarray(value)
        elif field.name == "selection":
            value = np.asarray(json.dumps(value, sort_keys=True, default=str))
        arrays[field.name] = value
    arrays["format_version"] = np.asarray(FORMAT_VERSION)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, **arrays)

    return atomic_write(path, write)


def load_pass(path: str | Path) -> DatasetPass | None:
    """The pass stored at `path`, or None if it is missing, unreadable or of another version."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                return None
            values = {k: data[k] for k in data.files if k != "format_version"}
    except (OSError, ValueError, KeyError):
        return None
    values["grid"] = tuple(int(v) for v in values["grid"])
    values["action_names"] = tuple(str(v) for v in values.get("action_names", ()))
    values["selection"] = json.loads(str(values.get("selection", "{}")))
    try:
        return DatasetPass(**values)
    except TypeError:
        return None


def cached_pass(path: str | Path, compute: Callable[[], DatasetPass]) -> tuple[DatasetPass, bool]:
    """(the pass at `path`, True) if stored there, else (compute(), False) after storing it."""
    stored = load_pass(path)
    if stored is not None:
        return stored, True
    result = compute()
    save_pass(result, path)
    return result, False


def fixed_set_selection(
    num_clips: int,
    short_len: int = 10,
    out_len: int = 10,
    image_size: int = 64,
    motion: str = "standard",
) -> dict[str, Any]:
    """What `fixed_set_pass` passes over: the first `num_clips` clips of the fixed generated test
    set of max(num_clips, 1000) clips (so up to 1,000 they are the clips evaluation uses), of
    standard Moving-MNIST or with motion contexts."""
    from lmc.data.fixed_sets import DEFAULT_NUM_CLIPS

    if num_clips < 1:
        raise ValueError(f"num_clips={num_clips}: must be at least 1")
    seq_len = short_len + out_len
    return {
        "source": "fixed_set",
        "split": "test",
        "pool": max(num_clips, DEFAULT_NUM_CLIPS["test"]),
        "num_clips": num_clips,
        "short_len": short_len,
        "long_len": seq_len,
        "image_size": image_size,
        "version": FORMAT_VERSION,
        # named only for contexts, so the standard passes already cached keep their key
        **({} if motion == "standard" else {"motion": motion}),
    }


def fixed_set_pass(
    model: torch.nn.Module,
    num_clips: int,
    short_len: int = 10,
    out_len: int = 10,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
    model_key: str | None = None,
    root: str | Path | None = None,
    motion: str = "standard",
) -> tuple[DatasetPass, bool]:
    """The pass over `fixed_set_selection(...)`, cached on disk under `model_key` (default: the
    hash of the weights): (pass, True if it came from the cache).

    The long window is the whole clip, input and future (short_len + out_len frames).
    """
    from lmc.data.fixed_sets import fixed_set

    selection = fixed_set_selection(num_clips, short_len, out_len, model.config.image_size, motion)
    path = cache_path(model_key or model_hash(model), selection, root)

    def compute() -> DatasetPass:
        seq_len = selection["long_len"]
        clips = fixed_set(
            "test", selection["pool"], seq_len, image_size=selection["image_size"], motion=motion
        ).subset(slice(0, num_clips))
        return run_dataset_pass(
            model,
            clips.frames,
            short_len,
            long_len=seq_len,
            batch_size=batch_size,
            positions=clips.positions,
            velocities=clips.velocities,
            labels=clips.labels,
            families=clips.families,
            progress=progress,
            selection=selection,
        )

    return cached_pass(path, compute)
