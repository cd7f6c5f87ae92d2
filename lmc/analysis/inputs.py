"""Input clips for the dashboard and notebooks, and their checks.

Every source ends as a `Clip`: float32 frames (T, C, H, W) in [0, 1], the number of frames the
model sees (`short_len`; the rest is ground truth) and, when it is known, the true motion of its
digits. A clip must have at least MIN_MOTION_FRAMES input frames (the 3D motion encoder of
LMC-Memory halves time three times, Lee et al., CVPR 2021, sec. 3.2) and sides that are multiples
of SIDE_MULTIPLE. Uploads (GIF, MP4, a ZIP of frame images, a .npy array) are decoded within
their budgets by `lmc.analysis.uploads`; clips of known motion are composed in
`lmc.analysis.probe`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from lmc.clips import check_frames
from lmc.config import MIN_MOTION_FRAMES
from lmc.errors import InputError


@dataclass(frozen=True)
class TrueMotion:
    """The known motion of a clip's digits: positions and velocities (T, D, 2) as (y, x) and
    (dy, dx) in pixels, as in `lmc.data.MovingMNISTClips`, and labels (D,) the digit classes;
    families (D,) each digit's motion family (an index into `lmc.data.motion_contexts.FAMILIES`)
    for clips with motion contexts, else None."""

    positions: np.ndarray
    velocities: np.ndarray
    labels: np.ndarray
    families: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Clip:
    """One clip: frames (T, C, H, W) float32 in [0, 1]; the model sees frames[:short_len].

    `key` is a content hash of frames and split, for caches; `source` says where the clip came
    from, for captions and plots.
    """

    frames: np.ndarray
    short_len: int
    source: str
    motion: TrueMotion | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        # A private copy: the clip is shared by caches, so it is made read-only below, and the
        # caller's array must stay as it was.
        frames = np.array(self.frames, dtype=np.float32, order="C", copy=True)
        if frames.ndim != 4:
            raise InputError(f"a clip has shape (T, C, H, W); got {frames.shape}")
        if not 1 <= self.short_len <= frames.shape[0]:
            raise InputError(
                f"short_len={self.short_len}: must be between 1 and the clip's {frames.shape[0]} frames"
            )
        frames.flags.writeable = False
        digest = hashlib.sha1(frames.tobytes(), usedforsecurity=False)
        digest.update(f"{frames.shape}:{self.short_len}".encode())
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "key", digest.hexdigest()[:16])

    @property
    def short(self) -> np.ndarray:
        """(short_len, C, H, W): what the model sees."""
        return self.frames[: self.short_len]

    @property
    def future(self) -> np.ndarray:
        """(T - short_len, C, H, W): the ground truth; empty when the clip has no future."""
        return self.frames[self.short_len :]

    def with_short_len(self, short_len: int) -> Clip:
        return Clip(self.frames, short_len, self.source, self.motion)


DEFAULT_OUT_LEN = 10  # the field's 10 -> 10 protocol


def default_out_len(clip: Clip) -> int:
    """As many frames as the clip's ground truth, or the field's 10 when it has none."""
    return clip.future.shape[0] or DEFAULT_OUT_LEN


def default_short_len(num_frames: int, preferred: int = 10) -> int:
    """The 10 -> rest split of the field when the clip is long enough, else every frame as input."""
    return preferred if num_frames > preferred else num_frames


# ------------------------------------------------------------------------------------ checks
def check_clip(
    frames: np.ndarray, *, channels: int, short_len: int | None = None, what: str = "the clip"
) -> None:
    """Raise InputError naming the value and the limit if `frames` (T, C, H, W) cannot be fed to
    a model with `channels` channels (`lmc.clips.check_frames`); the model sees `short_len` of
    them (all if None)."""
    frames = np.asarray(frames)
    seen = frames if short_len is None or frames.ndim != 4 else frames[:short_len]
    check_frames(seen, channels=channels, min_frames=MIN_MOTION_FRAMES, name=what, batched=False)


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, C, H, W) -> (T, C, *size) with antialiased bilinear resampling."""
    import torch
    import torch.nn.functional as F

    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    out = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)),
        size=tuple(size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return out.clamp_(0.0, 1.0).numpy()


def match_channels(frames: np.ndarray, channels: int) -> np.ndarray:
    """(T, C, H, W) -> (T, channels, H, W): gray repeated to RGB, or RGB to ITU-R 601 luma."""
    c = frames.shape[1]
    if c == channels:
        return frames
    if c == 1 and channels == 3:
        return np.repeat(frames, 3, axis=1)
    if c == 3 and channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.einsum("tchw,c->thw", frames, weights)[:, None].astype(np.float32)
    raise InputError(f"cannot convert {c} channels to {channels}; expected 1 or 3")


# ------------------------------------------------------------------------------- dataset files
def clip_collection(array: np.ndarray, layout: str, name: str = "the file") -> np.ndarray:
    """A file of many clips -> a (N, T, H, W) or (N, T, C, H, W) view, nothing copied.

    layout: "TN" for the standard mnist_test_seq.npy order (T, N, H, W), "NT" for (N, T, ...).
    """
    if layout not in ("TN", "NT"):
        raise InputError(f"layout={layout!r}: must be 'TN' (T, N, H, W) or 'NT' (N, T, H, W)")
    if array.ndim not in (4, 5):
        raise InputError(
            f"{name} has shape {array.shape}; a set of clips is (T, N, H, W) like "
            "mnist_test_seq.npy, or (N, T, H, W) / (N, T, C, H, W)"
        )
    return array.swapaxes(0, 1) if layout == "TN" else array


def guess_layout(shape: tuple[int, ...]) -> str:
    """'TN' when the first axis is the shorter of the two leading ones (the standard file is
    (20, 10000, 64, 64)), else 'NT'. Only a default: the page lets the user change it."""
    return "TN" if len(shape) == 4 and shape[0] < shape[1] else "NT"
