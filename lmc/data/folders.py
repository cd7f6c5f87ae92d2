"""Datasets in the authors' frame-folder layout: `<root>/video_00000/frame_00000.png` ...

The LMC-Memory code (Lee et al., CVPR 2021) reads every dataset as one folder per video holding
its frames as image files (.png or .jpg) in sorted order. `write_video_frames` writes that layout
and `FrameFolderDataset` reads it as clips of a fixed length: every window (stride 1) for
training, non-overlapping windows for testing. Frames are decoded once into a memory-mapped cache
(`lmc.data.frame_cache`), so an epoch costs slicing and a conversion to float, not JPEG decoding.

A video folder may hold a `meta.json` (e.g. KTH's person and action, see `lmc.data.kth`); it is
exposed per video as `FrameFolderDataset.metadata`. The writers of whole datasets (`lmc.data`
export and kth) also leave a `manifest.csv` beside the video folders, one row per folder, so the
renamed folders can be traced back to their sources with any spreadsheet (`write_manifest`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from lmc.data.frame_cache import (
    FRAME_LIMITS,
    FrameCache,
    FrameFolderError,
    FrameLimits,
    default_cache_dir,
    load_or_build,
)
from lmc.io import atomic_write

__all__ = [
    "FrameFolderDataset",
    "FrameFolderError",
    "VideoFolder",
    "scan_videos",
    "write_manifest",
    "write_video_frames",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
META_NAME = "meta.json"
MANIFEST_NAME = "manifest.csv"
SPLITS = ("train", "test")


def _natural_key(name: str) -> list[str | int]:
    # frame_2 before frame_10 for files written without zero padding; for padded names
    # (the layout's own) this is the plain sorted order the authors' code uses.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _hidden(name: str) -> bool:
    return name.startswith(".")


@dataclass(frozen=True)
class VideoFolder:
    """One video of a frame folder: its folder name, frame files in order, and meta.json content."""

    name: str
    frames: tuple[Path, ...]
    meta: dict[str, Any]


def _sorted_entries(folder: Path) -> list[os.DirEntry]:
    # scandir knows file from folder without a stat per entry: KTH has ~300k frame files.
    with os.scandir(folder) as entries:
        return sorted(
            (e for e in entries if not _hidden(e.name)), key=lambda e: _natural_key(e.name)
        )


def _scan_video(folder: Path) -> VideoFolder:
    frames, meta = [], {}
    for entry in _sorted_entries(folder):  # hidden ones left out: .DS_Store, swap files
        path = Path(entry.path)
        if entry.name == META_NAME and entry.is_file():
            try:
                meta = json.loads(path.read_text())
            # RecursionError: JSON nested deeper than Python's stack
            except (OSError, ValueError, RecursionError) as err:
                raise FrameFolderError(f"cannot read video metadata {path}: {err}") from None
            if not isinstance(meta, dict):
                raise FrameFolderError(f"{path} holds a {type(meta).__name__}, expected an object")
        elif entry.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            frames.append(path)
        else:
            kind = "folder" if entry.is_dir() else "file"
            raise FrameFolderError(
                f"unexpected {kind} {path} in a video folder: expected only frames "
                f"({', '.join(IMAGE_SUFFIXES)}), {META_NAME} and hidden files"
            )
    return VideoFolder(folder.name, tuple(frames), meta)


def scan_videos(root: str | os.PathLike) -> list[VideoFolder]:
    """Every video folder under root, in sorted order; hidden entries and plain files are ignored.

    Nothing is decoded: a frame is any file with an image suffix. Raises FileNotFoundError for a
    missing root, FrameFolderError for a video folder holding anything but frames, meta.json and
    hidden files.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"frame-folder dataset root {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"frame-folder dataset root {root} is a file, not a folder")
    return [_scan_video(Path(e.path)) for e in _sorted_entries(root) if e.is_dir()]


def _as_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if len(hw) != 2 or not all(isinstance(s, int) and s > 0 for s in hw):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return hw


def _num_windows(length: int, clip_len: int, stride: int) -> int:
    return 0 if length < clip_len else (length - clip_len) // stride + 1


class FrameFolderDataset(torch.utils.data.Dataset):
    """Fixed-length clips from a frame-folder dataset, as float32 (T, C, H, W) in [0, 1].

    split="train": every window of clip_len frames (stride 1) of every video; split="test":
    non-overlapping windows (stride clip_len), the leftover frames at a video's end unused.
    A video shorter than clip_len gives no clip and is skipped with a warning.

    root: folder of video folders. channels: 1 (gray) or 3 (RGB), converting files as needed.
    size: None keeps the files' size (all videos must agree), an int or (height, width) resizes.
    cache_dir: where the decoded frames are kept; default `default_cache_dir(root)`.
    limits: what the folder may decode (`lmc.data.frame_cache.FrameLimits`): each frame file's
    pixels, checked from its header before it is decoded, and the cache's bytes.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        clip_len: int,
        *,
        split: str = "train",
        channels: int = 1,
        size: int | Sequence[int] | None = None,
        cache_dir: str | os.PathLike | None = None,
        limits: FrameLimits = FRAME_LIMITS,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (gray) or 3 (RGB), got {channels!r}")
        if not isinstance(clip_len, int) or clip_len < 1:
            raise ValueError(f"clip_len must be a positive int, got {clip_len!r}")
        self.root = Path(root)
        self.clip_len = clip_len
        self.split = split
        self.channels = channels
        self.size = _as_size(size)
        videos = scan_videos(self.root)
        self.video_names = [v.name for v in videos]
        self.metadata = [v.meta for v in videos]
        self.video_lengths = [len(v.frames) for v in videos]
        stride = 1 if split == "train" else clip_len
        self.clips_per_video = [_num_windows(n, clip_len, stride) for n in self.video_lengths]
        self._check_clips(videos)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(self.root)
        self._cache: FrameCache = load_or_build(
            self.root,
            [v.frames for v in videos],
            channels=channels,
            size=self.size,
            cache_dir=self.cache_dir,
            limits=limits,
        )
        # One row per clip: its video and its first frame in the cached array.
        self._clip_video = np.repeat(np.arange(len(videos)), self.clips_per_video)
        self._clip_row = np.concatenate(
            [
                self._cache.offsets[v] + np.arange(count) * stride
                for v, count in enumerate(self.clips_per_video)
            ]
        )
        self._frames: np.ndarray | None = None  # opened lazily, once per process

    def _check_clips(self, videos: list[VideoFolder]) -> None:
        if not videos:
            raise FrameFolderError(
                f"no video folders in {self.root}: expected {self.root}/video_00000/"
                "frame_00000.png ... (hidden folders and plain files are ignored)"
            )
        for video, length, count in zip(
            videos, self.video_lengths, self.clips_per_video, strict=True
        ):
            if count == 0:
                warnings.warn(
                    f"skipping video {self.root / video.name}: {length} frames, fewer than one "
                    f"clip of {self.clip_len}",
                    stacklevel=3,
                )
        if sum(self.clips_per_video) == 0:
            raise FrameFolderError(
                f"no clip in {self.root}: a clip needs {self.clip_len} frames and the longest of "
                f"its {len(videos)} videos has {max(self.video_lengths)}"
            )

    @property
    def num_videos(self) -> int:
        """Every video folder found, including those too short to give a clip."""
        return len(self.video_names)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every frame."""
        return self._cache.shape[1:]

    def __len__(self) -> int:
        return len(self._clip_row)

    def _check_index(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"clip index {index} out of range for {n} clips")
        return index % n

    def video_of(self, index: int) -> int:
        """The video (a position in `video_names` and `metadata`) that clip `index` comes from."""
        return int(self._clip_video[self._check_index(index)])

    def frame_range(self, index: int) -> tuple[int, int]:
        """(start, stop) frame numbers of clip `index` within its video, stop exclusive."""
        index = self._check_index(index)
        start = int(self._clip_row[index] - self._cache.offsets[self._clip_video[index]])
        return start, start + self.clip_len

    def __getitem__(self, index: int) -> torch.Tensor:
        """Clip `index` as float32 (T, C, H, W) in [0, 1]."""
        row = self._clip_row[self._check_index(index)]
        if self._frames is None:
            self._frames = self._cache.open()
        clip = np.array(self._frames[row : row + self.clip_len])  # copy out of the map
        return torch.from_numpy(clip).float().div_(255.0)

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started by spawn/forkserver get the dataset pickled: send the path,
        # not the mapped array (which would pickle as a full in-memory copy), and reopen there.
        state = self.__dict__.copy()
        state["_frames"] = None
        return state


def write_video_frames(
    video_dir: str | os.PathLike,
    frames: np.ndarray,
    ext: str = "png",
    *,
    meta: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write frames as `video_dir/frame_00000.<ext>` ... (and meta.json when given).

    frames: uint8 (T, H, W) gray or (T, H, W, C) with C 1 or 3. The files are written into a
    hidden temporary folder beside video_dir, then renamed into place, so an interrupted write
    leaves no half video that a dataset would read (hidden folders are ignored). Returns the
    frame paths in order. An existing video_dir is an error unless overwrite=True.
    """
    frames = np.asarray(frames)
    ext = ext.lower().lstrip(".")
    if f".{ext}" not in IMAGE_SUFFIXES:
        valid = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
        raise ValueError(f"unknown frame format {ext!r}; valid formats: {valid}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 in 0..255, got dtype {frames.dtype}")
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if not (frames.ndim == 3 or (frames.ndim == 4 and frames.shape[-1] == 3)) or not len(frames):
        raise ValueError(
            f"frames must be (T, H, W) or (T, H, W, 3) with T >= 1, got shape {frames.shape}"
        )
    video_dir = Path(video_dir)
    if video_dir.exists() and not overwrite:
        raise FileExistsError(f"video folder {video_dir} already exists (pass overwrite=True)")
    video_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = video_dir.with_name(f".{video_dir.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    tmp.mkdir()
    options = {"quality": 95} if ext != "png" else {}  # JPEG's default 75 blurs small digits
    names = [f"frame_{t:05d}.{ext}" for t in range(len(frames))]
    try:
        for name, frame in zip(names, frames, strict=True):
            Image.fromarray(frame).save(tmp / name, **options)
        if meta is not None:
            (tmp / META_NAME).write_text(json.dumps(meta, indent=1))
        if video_dir.exists():
            shutil.rmtree(video_dir)
        os.rename(tmp, video_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [video_dir / name for name in names]


def write_manifest(
    folder: str | os.PathLike, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> Path:
    """`folder/manifest.csv` with these columns and one row per video folder, written atomically;
    returns its path. A row's key outside the columns is a ValueError, a missing one is empty."""
    path = Path(folder) / MANIFEST_NAME

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="raise")
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)
