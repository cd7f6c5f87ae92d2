"""Data: generated Moving-MNIST with its true motion, fixed evaluation sets, the standard file."""

from lmc.data.fixed_sets import default_cache_root, fixed_set
from lmc.data.mnist_digits import digit_pool, load_mnist_digits
from lmc.data.motion import CellMotion, ClipMotion, cell_motion, clip_motion
from lmc.data.moving_mnist import (
    MovingMNISTClips,
    MovingMNISTStream,
    frames_to_tensor,
    generate_clips,
)
from lmc.data.standard_file import STANDARD_SOURCE, load_standard_file, source_label

__all__ = [
    "STANDARD_SOURCE",
    "CellMotion",
    "ClipMotion",
    "MovingMNISTClips",
    "MovingMNISTStream",
    "cell_motion",
    "clip_motion",
    "default_cache_root",
    "digit_pool",
    "fixed_set",
    "frames_to_tensor",
    "generate_clips",
    "load_mnist_digits",
    "load_standard_file",
    "source_label",
]
