"""The 10,000 MNIST test digits shipped with the package, and disjoint digit pools per split.

The digits come from the MNIST database of handwritten digits (Y. LeCun, C. Cortes and
C. J. C. Burges, http://yann.lecun.com/exdb/mnist/), distributed under the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0). The files in `lmc/data/mnist/` are the
original, unmodified gzip-compressed IDX files of its test set; see the README there.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path

import numpy as np

MNIST_DIR = Path(__file__).parent / "mnist"
IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
# sha256 of the .gz files, from lmc/data/mnist/README.md: a truncated or swapped file must fail
# loudly here rather than show up later as odd-looking training data.
SHA256 = {
    IMAGES_FILE: "ba05d2d6e06f59dd97d2d5378250478bb5c9b64296a5c2681700569121e3a2d7",
    LABELS_FILE: "94088eab8a64f51a9b34cc9716f54b6548ef8b2fd16ada6d1575091b933dbf4b",
}
IMAGES_MAGIC = 2051  # IDX: unsigned bytes (0x08), 3 dimensions
LABELS_MAGIC = 2049  # IDX: unsigned bytes (0x08), 1 dimension
NUM_DIGITS = 10_000
DIGIT_SIZE = 28

# Disjoint pools by index so that no digit image is seen both in training and in evaluation: the
# sequences of each split differ not only by seed but by handwriting. The test file is in no
# particular order (writers are mixed), so contiguous blocks are as good as a random partition
# and are easier to audit.
SPLIT_RANGES = {"train": (0, 8_000), "val": (8_000, 9_000), "test": (9_000, 10_000)}
SPLITS = tuple(SPLIT_RANGES)


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ValueError naming the file, the expected and the actual digest if they differ."""
    actual = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if actual != expected:
        raise ValueError(
            f"MNIST file {path} is corrupted or not the original: sha256 {actual}, expected "
            f"{expected}; restore it from the repository (git checkout -- lmc/data/mnist)"
        )


def _read_idx(path: Path, magic: int, item_shape: tuple[int, ...]) -> np.ndarray:
    """Parse a gzip-compressed IDX file of unsigned bytes: (count, *item_shape) uint8."""
    data = gzip.decompress(Path(path).read_bytes())
    ndim = 1 + len(item_shape)
    header_size = 4 * (1 + ndim)
    if len(data) < header_size:
        raise ValueError(f"{path}: {len(data)} bytes, too short for an IDX header")
    header = np.frombuffer(data, dtype=">u4", count=1 + ndim)  # IDX integers are big-endian
    if int(header[0]) != magic:
        raise ValueError(f"{path}: IDX magic number {int(header[0])}, expected {magic}")
    shape = tuple(int(n) for n in header[1:])
    if shape != (NUM_DIGITS, *item_shape):
        raise ValueError(f"{path}: IDX shape {shape}, expected {(NUM_DIGITS, *item_shape)}")
    body = np.frombuffer(data, dtype=np.uint8, offset=header_size)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {body.size} data bytes, expected {int(np.prod(shape))}")
    return body.reshape(shape)


@functools.lru_cache(maxsize=2)
def load_mnist_digits(root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test digits: images (10000, 28, 28) uint8 in 0..255 and labels (10000,) uint8.

    `root` is the folder with the two .gz files (default: the copy shipped in the package). Both
    files are checked against their sha256 first. The result is cached and read-only, since every
    caller shares it.
    """
    root = MNIST_DIR if root is None else Path(root)
    for name, digest in SHA256.items():
        verify_sha256(root / name, digest)
    images = _read_idx(root / IMAGES_FILE, IMAGES_MAGIC, (DIGIT_SIZE, DIGIT_SIZE))
    labels = _read_idx(root / LABELS_FILE, LABELS_MAGIC, ())
    if labels.max() > 9:
        raise ValueError(f"{root / LABELS_FILE}: label {int(labels.max())} found, expected 0..9")
    # Shared by every caller through the cache: nobody may edit them in place.
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def digit_pool(split: str) -> np.ndarray:
    """Indices (int64, ascending) into the MNIST test file of the digits usable by `split`."""
    if split not in SPLIT_RANGES:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    start, stop = SPLIT_RANGES[split]
    return np.arange(start, stop, dtype=np.int64)
