"""Fixed validation and test sets: generated once, written to disk, the same clips every time.

A set is three files in the cache folder, named after its parameters:
`{stem}.npy` the frames (N, T, H, W) uint8, `{stem}.npz` the metadata (positions,
continuous_positions, velocities, labels, digit_indices) and `{stem}.json` the parameters. The
JSON is written last and read first: a set counts as present only when it exists and its
parameters (generator version included) match the request, otherwise the set is generated again.

Defaults follow the Moving-MNIST 10 -> 10 protocol: 20 frames, 10 seen and 10 predicted. The
standard benchmark file has 10,000 test clips; 1,000 test and 500 validation clips keep a full
evaluation within minutes on a CPU while the mean per-clip MSE of a model is still known to a
few percent. Each split has its own fixed seed and draws digits from its own disjoint pool.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from lmc.data.moving_mnist import (
    GENERATOR_VERSION,
    MovingMNISTClips,
    check_generator_args,
    generate_clips,
)
from lmc.io import atomic_write

FORMAT_VERSION = 1
CACHE_ENV = "LMC_CACHE_DIR"
DEFAULT_SEEDS = {"val": 1001, "test": 2002}
CONTEXT_SEEDS = {"val": 3003, "test": 4004}
DEFAULT_NUM_CLIPS = {"val": 500, "test": 1000}
DEFAULT_SEQ_LEN = 20
METADATA_KEYS = ("positions", "continuous_positions", "velocities", "labels", "digit_indices")
CONTEXT_KEYS = ("families", "family_params")  # only in sets with motion contexts


def default_cache_root() -> Path:
    """`$LMC_CACHE_DIR/moving_mnist` if that variable is set, else `./.lmc-cache/moving_mnist`."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path.cwd() / ".lmc-cache") / "moving_mnist"


def _path(stem: Path, suffix: str) -> Path:
    # Not Path.with_suffix: the stem holds the step ("step0.1"), whose ".1" is no suffix.
    return stem.parent / (stem.name + suffix)


def _load(stem: Path, params: dict[str, Any]) -> MovingMNISTClips | None:
    """The set at `stem` if it is complete and was made with `params`, else None."""
    meta_path = _path(stem, ".json")
    if not meta_path.is_file() or json.loads(meta_path.read_text()) != params:
        return None
    frames = np.load(_path(stem, ".npy"), allow_pickle=False)
    expected = (params["num_clips"], params["seq_len"], params["image_size"], params["image_size"])
    if frames.shape != expected or frames.dtype != np.uint8:
        return None
    keys = METADATA_KEYS + (CONTEXT_KEYS if params.get("motion") == "contexts" else ())
    with np.load(_path(stem, ".npz"), allow_pickle=False) as meta:
        if any(key not in meta for key in keys):
            return None
        arrays = {key: meta[key] for key in keys}
    return MovingMNISTClips(frames=frames, seed=params["seed"], split=params["split"], **arrays)


def _write(stem: Path, clips: MovingMNISTClips, params: dict[str, Any]) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(_path(stem, ".npy"), lambda tmp: np.save(tmp, clips.frames))
    keys = METADATA_KEYS + (CONTEXT_KEYS if clips.families is not None else ())
    arrays = {key: getattr(clips, key) for key in keys}
    atomic_write(_path(stem, ".npz"), lambda tmp: np.savez(tmp, **arrays))
    text = json.dumps(params, indent=1, sort_keys=True).encode()
    atomic_write(_path(stem, ".json"), lambda tmp: tmp.write_bytes(text))


def fixed_set(
    split: str,
    num_clips: int | None = None,
    seq_len: int = DEFAULT_SEQ_LEN,
    *,
    root: str | Path | None = None,
    seed: int | None = None,
    num_digits: int = 2,
    image_size: int = 64,
    step: float = 0.1,
    motion: str = "standard",
) -> MovingMNISTClips:
    """The fixed `split` set ("val" or "test"), loaded from `root` or generated and written there.

    Defaults: 500 val / 1000 test clips of 20 frames, seeds 1001 / 2002 (3003 / 4004 with
    `motion="contexts"`, so the two kinds never share clips), root `default_cache_root()`.
    Other arguments are those of `generate_clips`.
    """
    if split not in DEFAULT_SEEDS:
        raise ValueError(
            f"no fixed set for split {split!r}; valid splits: {', '.join(DEFAULT_SEEDS)}"
        )
    num_clips = DEFAULT_NUM_CLIPS[split] if num_clips is None else num_clips
    if seed is None:
        seed = (CONTEXT_SEEDS if motion == "contexts" else DEFAULT_SEEDS)[split]
    if isinstance(num_clips, bool) or not isinstance(num_clips, int) or num_clips < 1:
        raise ValueError(f"num_clips={num_clips!r}: must be an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed={seed!r}: a fixed set's seed must be one integer >= 0")
    check_generator_args(
        seq_len,
        seed=seed,
        split=split,
        num_digits=num_digits,
        image_size=image_size,
        step=step,
        motion=motion,
    )
    # Standard sets keep the parameters (and so the cache files) they always had.
    extra = {} if motion == "standard" else {"motion": motion}
    params = {
        "format_version": FORMAT_VERSION,
        "generator_version": GENERATOR_VERSION,
        "split": split,
        "seed": seed,
        "num_clips": num_clips,
        "seq_len": seq_len,
        "num_digits": num_digits,
        "image_size": image_size,
        "step": float(step),
        **extra,
    }
    root = default_cache_root() if root is None else Path(root)
    name = f"{split}-seed{seed}-n{num_clips}-t{seq_len}-d{num_digits}-s{image_size}-step{step:g}"
    if motion != "standard":
        name += f"-{motion}"
    stem = root / name
    clips = _load(stem, params)
    if clips is None:
        clips = generate_clips(
            num_clips,
            seq_len,
            seed=seed,
            split=split,
            num_digits=num_digits,
            image_size=image_size,
            step=step,
            motion=motion,
        )
        _write(stem, clips, params)
    return clips
