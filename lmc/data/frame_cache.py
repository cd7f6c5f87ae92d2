"""Decode a frame-folder dataset once into a uint8 memory-mapped array, reused across runs.

Decoding thousands of JPEG/PNG files every epoch costs more than a small model's step, so the
frames of every video are decoded once into one `.npy` file (N, C, H, W) plus a JSON index with
each video's offset and length. Training then only slices the memory map.

The index is the commit record: the array is written under a temporary name, renamed into place,
and only then is the index replaced (both with `os.replace`), so an interrupted build leaves at
most an orphan temporary file, which the next build removes, never an index that points at a
half-written array. The index
carries a fingerprint of (relative path, size, mtime) of every frame file plus the decoding
options; any change in the folder gives a new fingerprint and a rebuild.

The index lives in a folder that may come with a downloaded dataset, so the array name it holds
is not trusted: it must be this module's own name for that index (`<index stem>-<16 hex>.npy`)
and lie inside the cache folder (`lmc.paths.inside`); an index that names anything else is
ignored, rebuilt, and nothing it names is read or deleted.

A folder is data too, and a few KB of PNG can declare frames of 6000x6000: each frame file's
size is read from its header and held to `FrameLimits.frame_pixels` before it is decoded, and
the whole cache to `FrameLimits.cache_bytes` before it is allocated (and when an existing cache
is opened).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lmc.errors import DataError
from lmc.io import remove_stale_temps, temp_path
from lmc.paths import inside

log = logging.getLogger(__name__)

CACHE_FORMAT = "lmc-frame-cache"
# Bump when the same files and options would decode to different arrays.
CACHE_VERSION = 1
PROJECT_DIR = Path(__file__).resolve().parents[2]

Size = tuple[int, int]  # (height, width)
# One frame file as stored, before any resize: 2**24 pixels is 4096x4096, far above any video
# dataset's frames (KTH 160x120, HD 1920x1080) and 48 MB decoded as RGB.
MAX_FRAME_PIXELS = 2**24
# The decoded cache of one folder (uint8, on disk and memory-mapped): KTH at 128x128 gray, about
# 290,000 frames, is 4.8 GB.
MAX_CACHE_BYTES = 16 * 2**30


@dataclass(frozen=True)
class FrameLimits:
    """What a frame folder may decode (defaults: the constants above; tests lower them)."""

    frame_pixels: int = MAX_FRAME_PIXELS
    cache_bytes: int = MAX_CACHE_BYTES


FRAME_LIMITS = FrameLimits()


class FrameFolderError(DataError):
    """A frame folder that cannot be read as a dataset; the message names the file or folder."""


@dataclass(frozen=True)
class FrameCache:
    """Where a decoded dataset lives on disk and how its videos sit in the array.

    array_path: the `.npy` file holding (N, C, H, W) uint8, N the frames of all videos.
    offsets, lengths: (V,) int64, the first row and the frame count of each video.
    """

    array_path: Path
    index_path: Path
    offsets: np.ndarray
    lengths: np.ndarray
    shape: tuple[int, int, int, int]

    def open(self) -> np.ndarray:
        """The frames as a read-only memory map (N, C, H, W) uint8; nothing is read until sliced."""
        return np.load(self.array_path, mmap_mode="r")


def default_cache_dir(root: str | os.PathLike) -> Path:
    """`<root>/.lmc-cache` when root is writable, else a per-root folder in a shared cache.

    The shared cache is `$LMC_CACHE_DIR/folders/<hash>` when that variable is set, otherwise
    `.lmc-cache/folders/<hash>` in the project checkout, or `~/.cache/lmc/folders/<hash>` for an
    installed package (whose source folder is no place for data). <hash> is of the resolved root.
    """
    root = Path(root)
    if os.access(root, os.W_OK):
        return root / ".lmc-cache"
    if os.environ.get("LMC_CACHE_DIR"):
        base = Path(os.environ["LMC_CACHE_DIR"])
    elif (PROJECT_DIR / "pyproject.toml").is_file():
        base = PROJECT_DIR / ".lmc-cache"
    else:
        base = Path.home() / ".cache" / "lmc"
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return base / "folders" / digest


def decode_frame(
    path: Path, channels: int, size: Size | None, limits: FrameLimits = FRAME_LIMITS
) -> tuple[np.ndarray, Size]:
    """One image file as (C, H, W) uint8, and its (height, width) on disk before any resize.

    Gray files are replicated to RGB when channels=3; colour files become luminance (PIL "L")
    when channels=1. Resizing is bilinear, which PIL widens into an antialiasing filter when
    shrinking. The size the file declares is held to `limits.frame_pixels` before it is decoded.
    """
    try:
        with Image.open(path) as img:  # reads the header only
            if img.width * img.height > limits.frame_pixels:
                raise FrameFolderError(
                    f"{path} declares {img.width}x{img.height} = {img.width * img.height:,} "
                    f"pixels; a frame file may hold at most {limits.frame_pixels:,}"
                )
            img.load()  # decode here, so a truncated file fails with its path, not later
            raw = (img.height, img.width)
            img = img.convert("L" if channels == 1 else "RGB")
            if size is not None and raw != size:
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, Image.DecompressionBombError) as err:  # UnidentifiedImageError is an OSError
        raise FrameFolderError(f"cannot read image {path}: {err}") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return arr, raw


def fingerprint(
    root: Path, videos: Sequence[Sequence[Path]], channels: int, size: Size | None
) -> str:
    """A hash of every frame file's (relative path, size, mtime) and the decoding options."""
    entries = []
    for frames in videos:
        for path in frames:
            stat = path.stat()
            entries.append([path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns])
    key = [CACHE_FORMAT, CACHE_VERSION, channels, list(size) if size else None, entries]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def variant_name(channels: int, size: Size | None) -> str:
    """The cache's file stem for one set of decoding options, e.g. `frames-c1-128x128`."""
    return f"frames-c{channels}-" + (f"{size[0]}x{size[1]}" if size else "native")


def load_or_build(
    root: Path,
    videos: Sequence[Sequence[Path]],
    *,
    channels: int,
    size: Size | None,
    cache_dir: Path,
    limits: FrameLimits = FRAME_LIMITS,
) -> FrameCache:
    """The cache of these videos' frames in `cache_dir`, decoded now if absent or out of date.

    videos: per video, its frame files in order. One cache directory serves one root; each set of
    decoding options (channels, size) has its own files in it. FrameFolderError for a frame file
    or a cache beyond `limits`.
    """
    index_path = cache_dir / f"{variant_name(channels, size)}.json"
    fp = fingerprint(root, videos, channels, size)
    cache = _load(index_path, fp)
    if cache is not None:
        _check_cache_bytes(cache.shape, root, limits)  # built earlier, perhaps under other limits
        return cache
    log.info("decoding %d videos of %s into %s", len(videos), root, cache_dir)
    return _build(index_path, fp, videos, channels, size, limits)


def _check_cache_bytes(shape: Sequence[int], root: Path, limits: FrameLimits) -> None:
    total = int(np.prod(shape, dtype=object))
    if total > limits.cache_bytes:
        frames, *frame = shape
        raise FrameFolderError(
            f"{root} decodes to {frames:,} frames of {'x'.join(map(str, frame))} = {total:,} "
            f"bytes; the limit for a frame folder is {limits.cache_bytes:,} bytes (pass a "
            "smaller size, or use fewer videos)"
        )


def _load(index_path: Path, fp: str) -> FrameCache | None:
    """The cache the index describes, or None when it is missing, stale or inconsistent."""
    try:
        index = json.loads(index_path.read_text())
        if index.get("format") != CACHE_FORMAT or index.get("fingerprint") != fp:
            return None
        cache = _from_index(index_path, index)
        frames = cache.open()
    except DataError as err:
        log.warning("ignoring the frame cache index: %s", err)
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # unreadable or foreign files (or JSON nested too deep): rebuilding is safe
    if frames.dtype != np.uint8 or frames.shape != cache.shape:
        return None
    return cache


def _array_path(index_path: Path, name: object) -> Path:
    """The array an index names, refused (DataError) unless it is this index's own kind of
    file inside the cache folder."""
    pattern = re.escape(index_path.stem) + r"-[0-9a-f]{16}\.npy"
    return inside(index_path.parent, name, pattern, source=str(index_path))


def _from_index(index_path: Path, index: dict) -> FrameCache:
    videos = index["videos"]
    return FrameCache(
        array_path=_array_path(index_path, index["array"]),
        index_path=index_path,
        offsets=np.array([v["offset"] for v in videos], dtype=np.int64),
        lengths=np.array([v["length"] for v in videos], dtype=np.int64),
        shape=tuple(index["shape"]),
    )


def _build(
    index_path: Path,
    fp: str,
    videos: Sequence[Sequence[Path]],
    channels: int,
    size: Size | None,
    limits: FrameLimits = FRAME_LIMITS,
) -> FrameCache:
    total = sum(len(frames) for frames in videos)
    if total == 0:
        raise FrameFolderError(f"no frames to cache for {index_path.parent}")
    index_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale_temps(index_path.parent):
        log.info("removed %s, left by a cache build that was killed", stale)
    array_path = index_path.with_name(f"{index_path.stem}-{fp[:16]}.npy")
    tmp = temp_path(array_path)
    try:
        _decode_all(tmp, videos, total, channels, size, limits)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())  # the data is on disk before an index can point at it
        os.replace(tmp, array_path)
    finally:
        tmp.unlink(missing_ok=True)
    frame_shape = np.load(array_path, mmap_mode="r").shape[1:]
    offsets = np.cumsum([0] + [len(frames) for frames in videos[:-1]])
    index = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "fingerprint": fp,
        "array": array_path.name,
        "shape": [total, *frame_shape],
        "videos": [
            {"offset": int(o), "length": len(frames)}
            for frames, o in zip(videos, offsets, strict=True)
        ],
    }
    previous = _previous_array(index_path)
    tmp_index = temp_path(index_path)
    try:
        tmp_index.write_text(json.dumps(index, indent=1))
        os.replace(tmp_index, index_path)
    finally:
        tmp_index.unlink(missing_ok=True)
    if previous is not None and previous != array_path:
        # Readers that still map the old file keep it alive (POSIX unlink semantics).
        previous.unlink(missing_ok=True)
    return _from_index(index_path, index)


def _previous_array(index_path: Path) -> Path | None:
    """The array the index now on disk names, to delete once replaced; None when there is no
    index or it names anything but a cache array of its own beside it."""
    try:
        return _array_path(index_path, json.loads(index_path.read_text())["array"])
    # DataError is a ValueError; RecursionError: JSON nested too deep
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _decode_all(
    out: Path,
    videos: Sequence[Sequence[Path]],
    total: int,
    channels: int,
    size: Size | None,
    limits: FrameLimits = FRAME_LIMITS,
) -> None:
    """Decode every frame into a new `.npy` at `out`, checking that sizes agree and that the
    whole fits `limits.cache_bytes` before the array is allocated."""
    frames_out = None
    first: tuple[Path, tuple[int, ...]] | None = None  # a frame that fixed the array's shape
    row = 0
    for frames in videos:
        video_raw: tuple[Path, Size] | None = None
        for path in frames:
            arr, raw = decode_frame(path, channels, size, limits)
            if video_raw is None:
                video_raw = (path, raw)
            elif raw != video_raw[1]:
                raise FrameFolderError(
                    f"frames of different sizes in video {path.parent}: {video_raw[0].name} is "
                    f"{_hw(video_raw[1])}, {path.name} is {_hw(raw)} (height x width)"
                )
            if frames_out is None:
                first = (path, arr.shape)
                # root/video/frame: the folder the limit is about
                _check_cache_bytes((total, *arr.shape), path.parent.parent, limits)
                frames_out = np.lib.format.open_memmap(
                    out, mode="w+", dtype=np.uint8, shape=(total, *arr.shape)
                )
            elif arr.shape != first[1]:
                raise FrameFolderError(
                    f"videos of different frame sizes: {first[0]} is {_hw(first[1][1:])}, "
                    f"{path} is {_hw(arr.shape[1:])}; pass size=(height, width) to resize all"
                )
            frames_out[row] = arr
            row += 1
    frames_out.flush()
    del frames_out  # close the map before the file is renamed


def _hw(size: Sequence[int]) -> str:
    return f"{size[0]}x{size[1]}"
