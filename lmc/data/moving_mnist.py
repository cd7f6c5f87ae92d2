"""Moving-MNIST clips with their true motion: the standard recipe, vectorised in numpy.

The recipe is the one of the Moving-MNIST benchmark (Srivastava et al., ICML 2015) used by
LMC-Memory (Lee et al., CVPR 2021, sec. 4): 28x28 MNIST digits on a 64x64 black canvas, each with
a uniform random start inside the canvas, a uniform random direction and a constant speed,
bouncing off the borders; overlapping digits combine by pixel-wise maximum. Unlike the benchmark
file, every clip here keeps its metadata (digit, position and velocity per frame), so the motion
the memory should recall is known. Digits: MNIST test set, CC BY-SA 3.0 (see `mnist_digits`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lmc.data.mnist_digits import DIGIT_SIZE, SPLITS, digit_pool, load_mnist_digits
from lmc.data.walls import reflect

# Bump when the same arguments would produce different clips, so that cached sets regenerate.
GENERATOR_VERSION = 1

Seed = int | tuple[int, ...]


MOTIONS = ("standard", "contexts")


def generated_source(seed: Seed, split: str, motion: str = "standard") -> str:
    """The label that numbers computed on generated clips carry, e.g. in reports and plots."""
    kind = "Moving-MNIST" if motion == "standard" else "Moving-MNIST with motion contexts"
    return f"generated {kind} (seed {seed}, split {split})"


def training_motion(metadata: Mapping[str, Any]) -> str:
    """The generator's motion a checkpoint was trained on, from its metadata's "motion" (the
    training loop writes it); "standard" when absent: checkpoints from before it, the authors'
    files. ValueError for a value that is not one of MOTIONS."""
    motion = metadata.get("motion", "standard")
    if motion not in MOTIONS:
        raise ValueError(
            f"the checkpoint's metadata names motion={motion!r}; the motions are {', '.join(MOTIONS)}"
        )
    return motion


@dataclass
class MovingMNISTClips:
    """N generated clips of T frames with D digits each, and their true motion.

    frames: (N, T, H, W) uint8 in 0..255.
    positions: (N, T, D, 2) float32, top-left (y, x) in pixels where each digit was pasted; whole
        numbers, the rounded `continuous_positions`.
    continuous_positions: (N, T, D, 2) float32, the exact top-left (y, x) of the trajectory, in
        [0, H - 28] x [0, W - 28].
    velocities: (N, T, D, 2) float32, (dy, dx) in pixels/frame: the velocity the digit carries at
        frame t, i.e. after any bounce on its way into frame t. It is the displacement from frame
        t to t+1 unless the digit hits a border on the way, and always
        `continuous_positions[t+1] == reflect(continuous_positions[t] + velocities[t])`, see
        `lmc.data.walls.reflect`. Its norm is the clip's speed at every frame; y grows downwards.
    labels: (N, D) uint8, the class 0..9 of each digit.
    digit_indices: (N, D) int64, index of each digit image in the MNIST test file.
    seed, split: what generated them; `generate_clips(N, T, seed=seed, split=split, ...)` with the
        same other arguments gives the same clips back.
    families: (N, D) int64, each digit's motion family (an index into
        `motion_contexts.FAMILIES`), for clips made with `motion="contexts"`; None for standard
        Moving-MNIST, whose digits all bounce. `velocities` are then the steps taken, with the
        same identity as above.
    family_params: (N, D, len(motion_contexts.PARAM_NAMES)) float32, each digit's family
        parameters, NaN where its family has none; None with `families`.
    """

    frames: np.ndarray
    positions: np.ndarray
    continuous_positions: np.ndarray
    velocities: np.ndarray
    labels: np.ndarray
    digit_indices: np.ndarray
    seed: Seed
    split: str
    families: np.ndarray | None = None
    family_params: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Clips also come back from disk (fixed sets): a mismatched file must not pass silently.
        n, t = self.frames.shape[:2]
        d = self.labels.shape[1]
        expected = {
            "positions": (n, t, d, 2),
            "continuous_positions": (n, t, d, 2),
            "velocities": (n, t, d, 2),
            "labels": (n, d),
            "digit_indices": (n, d),
        }
        if (self.families is None) != (self.family_params is None):
            raise ValueError("MovingMNISTClips: families and family_params come together")
        if self.families is not None:
            expected["families"] = (n, d)
            expected["family_params"] = (n, d, self.family_params.shape[-1])
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"MovingMNISTClips.{name} has shape {getattr(self, name).shape}, expected "
                    f"{shape} for frames of shape {self.frames.shape}"
                )

    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def motion(self) -> str:
        """'contexts' for clips with motion families, else 'standard'."""
        return "standard" if self.families is None else "contexts"

    @property
    def source(self) -> str:
        return generated_source(self.seed, self.split, self.motion)

    def subset(self, index: slice | Sequence[int] | np.ndarray) -> MovingMNISTClips:
        """The clips selected by a slice or an array of clip indices (seed and split kept)."""
        if not isinstance(index, slice):
            index = np.atleast_1d(np.asarray(index))
        return MovingMNISTClips(
            frames=self.frames[index],
            positions=self.positions[index],
            continuous_positions=self.continuous_positions[index],
            velocities=self.velocities[index],
            labels=self.labels[index],
            digit_indices=self.digit_indices[index],
            seed=self.seed,
            split=self.split,
            families=None if self.families is None else self.families[index],
            family_params=None if self.family_params is None else self.family_params[index],
        )

    def to_tensor(self) -> torch.Tensor:
        """(N, T, 1, H, W) float32 in [0, 1], the toolkit's layout."""
        return frames_to_tensor(self.frames)


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(N, T, H, W) uint8 -> (N, T, 1, H, W) float32 in [0, 1], a new contiguous tensor.

    The division happens in numpy into a fresh array, so read-only or strided inputs (a memmap of
    the standard file, a transposed view) are fine and are read once.
    """
    return torch.from_numpy(np.divide(frames, 255.0, dtype=np.float32, order="C")).unsqueeze(2)


def _trajectories(
    rng: np.random.Generator, num_clips: int, seq_len: int, num_digits: int, free: int, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous top-left positions and velocities, both (N, T, D, 2) float64 as (y, x)."""
    position = rng.uniform(0.0, free, size=(num_clips, num_digits, 2))
    theta = rng.uniform(0.0, 2 * math.pi, size=(num_clips, num_digits))
    velocity = step * free * np.stack([np.sin(theta), np.cos(theta)], axis=-1)
    positions = np.empty((num_clips, seq_len, num_digits, 2))
    velocities = np.empty_like(positions)
    # A loop over time only: each step is a handful of array operations over all clips and digits.
    for t in range(seq_len):
        positions[:, t] = position
        velocities[:, t] = velocity
        position, velocity = reflect(position + velocity, velocity, free)
    return positions, velocities


def _paste(digits: np.ndarray, corners: np.ndarray, image_size: int) -> np.ndarray:
    """Paste digit images at integer top-left corners, combining by maximum.

    digits: (N, D, 28, 28) uint8; corners: (N, T, D, 2) int (y, x) -> frames (N, T, H, W) uint8.
    """
    num_clips, seq_len, num_digits = corners.shape[:3]
    frames = np.zeros((num_clips, seq_len, image_size, image_size), dtype=np.uint8)
    # windows[n, t, y, x] is the 28x28 patch of frame (n, t) whose top-left is (y, x): a view, so
    # one fancy index reads or writes every frame's patch at once. Windows overlap, but within one
    # digit each frame writes a single window, so no write is lost; digits go one after another.
    windows = np.lib.stride_tricks.sliding_window_view(
        frames, (DIGIT_SIZE, DIGIT_SIZE), axis=(2, 3), writeable=True
    )
    n = np.arange(num_clips)[:, None]
    t = np.arange(seq_len)[None, :]
    for d in range(num_digits):
        y, x = corners[:, :, d, 0], corners[:, :, d, 1]
        windows[n, t, y, x] = np.maximum(windows[n, t, y, x], digits[:, None, d])
    return frames


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}={value!r}: must be an integer >= {minimum}")


def _check_seed(seed: Any) -> None:
    parts = seed if isinstance(seed, tuple) else (seed,)
    if not parts or any(
        isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0 for s in parts
    ):
        raise ValueError(f"seed={seed!r}: must be an integer >= 0 or a tuple of them")


def check_generator_args(
    seq_len: int,
    *,
    seed: Seed,
    split: str,
    num_digits: int,
    image_size: int,
    step: float,
    motion: str = "standard",
) -> None:
    """Raise ValueError naming the value and the limit for any bad generator argument."""
    if motion not in MOTIONS:
        raise ValueError(f"motion={motion!r}: must be one of {', '.join(MOTIONS)}")
    if motion == "contexts" and isinstance(image_size, int) and image_size < 56:
        raise ValueError(
            f"image_size={image_size}: motion contexts need image_size >= 56, so that an orbit "
            "of radius 14 fits beside the 28-pixel digit"
        )
    _check_int("seq_len", seq_len, 1)
    _check_int("num_digits", num_digits, 1)
    _check_int("image_size", image_size, DIGIT_SIZE)  # the canvas must hold a whole digit
    _check_seed(seed)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    # Above 1 a digit could cross the whole free range in one frame and bounce twice.
    if isinstance(step, bool) or not (isinstance(step, numbers.Real) and 0.0 <= step <= 1.0):
        raise ValueError(f"step={step!r}: must be a number in [0, 1] (fraction of the free range)")


def generate_clips(
    num_clips: int,
    seq_len: int,
    *,
    seed: Seed,
    split: str = "train",
    num_digits: int = 2,
    image_size: int = 64,
    step: float = 0.1,
    motion: str = "standard",
) -> MovingMNISTClips:
    """Generate `num_clips` Moving-MNIST clips of `seq_len` frames, deterministic in `seed`.

    Each digit starts uniformly in [0, image_size - 28] per axis, moves in a direction uniform in
    [0, 2pi) at `step * (image_size - 28)` pixels/frame (3.6 at the defaults) and bounces off the
    borders. Digits are drawn with replacement from the `split` pool of `mnist_digits.digit_pool`.
    `seed` is an integer or a tuple of integers (entropy of a `np.random.SeedSequence`).
    With `motion="contexts"` each digit follows one of six motion families instead
    (`lmc.data.motion_contexts`; `step` is then unused) and the clips carry `families`.
    """
    _check_int("num_clips", num_clips, 1)
    check_generator_args(
        seq_len,
        seed=seed,
        split=split,
        num_digits=num_digits,
        image_size=image_size,
        step=step,
        motion=motion,
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    images, labels = load_mnist_digits()
    pool = digit_pool(split)
    digit_indices = pool[rng.integers(0, len(pool), size=(num_clips, num_digits))]
    free = image_size - DIGIT_SIZE
    families = family_params = None
    if motion == "contexts":
        from lmc.data.motion_contexts import context_trajectories

        continuous, velocities, families, family_params = context_trajectories(
            rng, num_clips, seq_len, num_digits, free
        )
        family_params = family_params.astype(np.float32)
    else:
        continuous, velocities = _trajectories(
            rng, num_clips, seq_len, num_digits, free, float(step)
        )
    corners = np.rint(continuous).astype(np.int64)  # stays in [0, free] since continuous does
    return MovingMNISTClips(
        frames=_paste(images[digit_indices], corners, image_size),
        positions=corners.astype(np.float32),
        continuous_positions=continuous.astype(np.float32),
        velocities=velocities.astype(np.float32),
        labels=labels[digit_indices],
        digit_indices=digit_indices,
        seed=seed,
        split=split,
        families=families,
        family_params=family_params,
    )


class MovingMNISTStream:
    """An endless stream of fresh training batches, reproducible and resumable.

    Batch k of rank r is `generate_clips(batch_size, seq_len, seed=(seed, r, k), ...)`, i.e. drawn
    from `np.random.SeedSequence([seed, r, k])`: ranks see different clips, and a run resumed from
    `state_dict()` sees exactly the batches it would have seen. Nothing is kept between batches,
    so memory stays flat however long the stream runs.
    """

    def __init__(
        self,
        batch_size: int,
        seq_len: int,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        split: str = "train",
        num_digits: int = 2,
        image_size: int = 64,
        step: float = 0.1,
        motion: str = "standard",
    ):
        _check_int("batch_size", batch_size, 1)
        _check_int("world_size", world_size, 1)
        _check_int("rank", rank, 0)
        if rank >= world_size:
            raise ValueError(f"rank={rank}: must be below world_size={world_size}")
        if not isinstance(seed, int | np.integer):
            raise ValueError(f"seed={seed!r}: the stream seed must be one integer >= 0")
        check_generator_args(
            seq_len,
            seed=seed,
            split=split,
            num_digits=num_digits,
            image_size=image_size,
            step=step,
            motion=motion,
        )
        self.motion = motion
        self.batch_size, self.seq_len, self.seed = batch_size, seq_len, int(seed)
        self.rank, self.world_size = rank, world_size
        self.split, self.num_digits = split, num_digits
        self.image_size, self.step = image_size, float(step)
        self.batch_index = 0

    def next_clips(self) -> MovingMNISTClips:
        """The next batch with its metadata (N = batch_size)."""
        clips = generate_clips(
            self.batch_size,
            self.seq_len,
            seed=(self.seed, self.rank, self.batch_index),
            split=self.split,
            num_digits=self.num_digits,
            image_size=self.image_size,
            step=self.step,
            motion=self.motion,
        )
        self.batch_index += 1
        return clips

    def next_batch(
        self, with_meta: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, MovingMNISTClips]:
        """(B, T, 1, H, W) float32 in [0, 1]; with `with_meta`, also the clips' metadata."""
        clips = self.next_clips()
        return (clips.to_tensor(), clips) if with_meta else clips.to_tensor()

    def __iter__(self) -> Iterator[torch.Tensor]:
        while True:
            yield self.next_batch()

    def _params(self) -> dict[str, Any]:
        # Rank and world size are left out: every rank resumes from rank 0's checkpoint. The
        # motion is named only when it is not the standard one, so older states still resume.
        motion = {} if self.motion == "standard" else {"motion": self.motion}
        return {
            **motion,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "split": self.split,
            "num_digits": self.num_digits,
            "image_size": self.image_size,
            "step": self.step,
        }

    def state_dict(self) -> dict[str, Any]:
        """The data position of a checkpoint: plain ints, floats and strings only."""
        return {"batch_index": self.batch_index, **self._params()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state`; the stream must have been built with the same parameters.

        Keys other than `batch_index` are checked when present, so a state of the form
        `{"batch_index": k}` deliberately resumes a stream with changed parameters.
        """
        _check_int("batch_index", state.get("batch_index"), 0)
        mine = self._params()
        diffs = [
            f"{k}={state[k]!r} (stream has {v!r})"
            for k, v in mine.items()
            if k in state and state[k] != v
        ]
        saved_motion = state.get("motion", "standard")
        if len(state) > 1 and saved_motion != self.motion:  # a full state names its motion
            diffs.append(f"motion={saved_motion!r} (stream has {self.motion!r})")
        if diffs:
            raise ValueError(
                "stream state was saved with other parameters: "
                + ", ".join(diffs)
                + "; build the stream with those, or pass only {'batch_index': k}"
            )
        self.batch_index = int(state["batch_index"])
