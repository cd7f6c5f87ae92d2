"""KTH human actions (Schuldt et al., ICPR 2004) as frame folders, split by person.

The archive holds one AVI per (person, action, scenario): `person01_boxing_d1_uncomp.avi`, 25
persons, 6 actions, scenarios d1..d4, 160x120 gray frames at 25 fps. LMC-Memory (Lee et al.,
CVPR 2021) follows the field's protocol: persons 1-16 train, 17-25 test, frames resized to
128x128 gray. `convert_kth` writes `out_dir/train/video_00000/frame_00000.png` ... in the layout
`lmc.data.folders.FrameFolderDataset` reads, with a meta.json per video:

    {"person": 1, "action": "boxing", "label": 0, "scenario": "d1",
     "source": "person01_boxing_d1_uncomp.avi", "frames": [1, 95]}

`frames` is the 1-based inclusive range of source frames, the convention of the archive's
sequences.txt. Given that file, each video is cut into its sub-sequences (one folder each).
`out_dir/manifest.csv` lists every folder written, one row each, with the same facts:

    split,folder,source,person,action,scenario,first_frame,last_frame
    train,video_00000,person01_boxing_d1_uncomp.avi,1,boxing,d1,1,95
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from lmc.data.folders import write_manifest, write_video_frames
from lmc.errors import DataError
from lmc.io import atomic_folder

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
SPLITS = ("train", "test")
TRAIN_PERSONS = tuple(range(1, 17))  # the field's person split, used by LMC-Memory
TEST_PERSONS = tuple(range(17, 26))
NAME_PATTERN = "personNN_<action>_dN_uncomp.avi"
_NAME = re.compile(r"^person(\d{2})_([a-z]+)_(d[1-4])_uncomp\.avi$")
# sequences.txt: "person01_boxing_d1<tabs>frames<tab>1-95, 96-185, 186-245, 246-360"
_SEQUENCE_LINE = re.compile(r"^\s*(person\d{2}_[a-z]+_d\d)\s+frames\s+(.*)$", re.IGNORECASE)
_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)")
# Frames one video may decode to: 10,000 is 6.7 minutes at KTH's 25 fps, far beyond its videos,
# and 164 MB at 128x128. A small AVI of tiny frames may hold 60,000 (2.2 GB decoded, 237 MB of
# PNGs), so a video is refused, and listed as skipped, once it passes the cap.
MAX_VIDEO_FRAMES = 10_000


class TooManyFrames(DataError):
    """A video that holds more frames than a conversion accepts."""


MANIFEST_COLUMNS = (
    "split",
    "folder",
    "source",
    "person",
    "action",
    "scenario",
    "first_frame",
    "last_frame",
)


@dataclass(frozen=True)
class KTHVideo:
    """One archive file, identified by its name."""

    person: int
    action: str
    scenario: str
    path: Path

    @property
    def stem(self) -> str:
        """The key sequences.txt uses, e.g. `person01_boxing_d1`."""
        return f"person{self.person:02d}_{self.action}_{self.scenario}"


@dataclass
class KTHSummary:
    """What `convert_kth` wrote and what it left out, and why.

    videos, frames, sources: per split, the video folders written, their frames, and the
    archive files they came from. skipped: (file or sub-sequence, reason). notes: videos kept
    whole for lack of a sequences.txt entry, ranges shortened to the decoded length. manifest:
    the manifest.csv written at the end (None until then).
    """

    out_dir: Path
    manifest: Path | None = None
    videos: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    frames: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    sources: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"KTH frame folders in {self.out_dir}:"]
        for split in SPLITS:
            lines.append(
                f"  {split}: {self.videos[split]} videos, {self.frames[split]} frames, "
                f"from {self.sources[split]} files"
            )
        lines.append(f"  skipped: {len(self.skipped)}")
        lines += [f"    {name}: {reason}" for name, reason in self.skipped]
        if self.notes:
            lines.append(f"  notes: {len(self.notes)}")
            lines += [f"    {note}" for note in self.notes]
        if self.manifest is not None:
            lines.append(f"  manifest: {self.manifest}")
        return "\n".join(lines)


def check_actions(actions: Iterable[str]) -> tuple[str, ...]:
    """The actions as a tuple; an unknown name raises with the valid ones."""
    actions = tuple(actions)
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown:
        raise ValueError(f"unknown KTH action(s) {unknown}; valid actions: {', '.join(ACTIONS)}")
    return actions


def parse_name(path: Path) -> KTHVideo | str:
    """The video a file name describes, or the reason it is not a KTH video name."""
    match = _NAME.match(path.name)
    if match is None:
        return f"name does not match {NAME_PATTERN}"
    person, action, scenario = match.groups()
    if action not in ACTIONS:
        return f"unknown action {action!r}; valid actions: {', '.join(ACTIONS)}"
    return KTHVideo(int(person), action, scenario, path)


def parse_sequences(path: str | os.PathLike) -> dict[str, list[tuple[int, int]]]:
    """sequences.txt as {"person01_boxing_d1": [(1, 95), (96, 185), ...]}, 1-based inclusive.

    Lines that are not entries (header text, blank lines) are ignored.
    """
    sequences: dict[str, list[tuple[int, int]]] = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        match = _SEQUENCE_LINE.match(line)
        if match is not None:
            ranges = [(int(a), int(b)) for a, b in _RANGE.findall(match.group(2))]
            sequences.setdefault(match.group(1).lower(), []).extend(ranges)
    return sequences


def read_video_gray(
    path: str | os.PathLike, size: int, max_frames: int = MAX_VIDEO_FRAMES
) -> np.ndarray:
    """Every frame of a video file as (T, size, size) uint8 gray, decoded by ffmpeg.

    Gray is PIL's luminance ("L"); resizing is bilinear (antialiased when shrinking), to a square
    like the field does, so KTH's 4:3 frames are squeezed horizontally. TooManyFrames as soon as
    the video passes `max_frames`, before that frame is kept.
    """
    frames = []
    for rgb in iio.imiter(path, plugin="FFMPEG"):
        if len(frames) == max_frames:
            raise TooManyFrames(
                f"more than {max_frames:,} frames; the limit per video is {max_frames:,} "
                "(6.7 minutes at KTH's 25 fps)"
            )
        img = Image.fromarray(rgb).convert("L")
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        frames.append(np.asarray(img, dtype=np.uint8))
    return np.stack(frames) if frames else np.zeros((0, size, size), np.uint8)


def _split_of(person: int, persons: dict[str, set[int]]) -> str | None:
    return next((split for split in SPLITS if person in persons[split]), None)


def _find_videos(raw_dir: Path, summary: KTHSummary) -> list[KTHVideo]:
    """The archive's videos under raw_dir (any depth), in (person, action, scenario) order."""
    videos: dict[str, KTHVideo] = {}
    paths = sorted(p for p in raw_dir.rglob("*") if p.suffix.lower() == ".avi" and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no .avi files under {raw_dir}; expected {NAME_PATTERN} files")
    for path in paths:
        if any(part.startswith(".") for part in path.relative_to(raw_dir).parts):
            continue
        video = parse_name(path)
        if isinstance(video, str):
            summary.skipped.append((str(path.relative_to(raw_dir)), video))
        elif path.name in videos:
            summary.skipped.append((str(path.relative_to(raw_dir)), "duplicate file name"))
        else:
            videos[path.name] = video
    return sorted(videos.values(), key=lambda v: (v.person, ACTIONS.index(v.action), v.scenario))


def _ranges(
    video: KTHVideo,
    num_frames: int,
    sequences: dict[str, list[tuple[int, int]]] | None,
    summary: KTHSummary,
) -> list[tuple[int, int]]:
    """The 1-based inclusive frame ranges to write for one decoded video."""
    if sequences is None:
        return [(1, num_frames)]
    if video.stem not in sequences:
        message = f"{video.path.name}: no entry in sequences file, kept whole"
        warnings.warn(message, stacklevel=3)
        summary.notes.append(message)
        return [(1, num_frames)]
    ranges = []
    for start, end in sequences[video.stem]:
        label = f"{video.stem} frames {start}-{end}"
        if not 1 <= start <= end:
            summary.skipped.append((label, "not a range of 1-based frame numbers"))
        elif start > num_frames:
            summary.skipped.append((label, f"starts after the last decoded frame {num_frames}"))
        else:
            if end > num_frames:
                summary.notes.append(f"{label}: ends at the last decoded frame {num_frames}")
            ranges.append((start, min(end, num_frames)))
    return ranges


def _check_out(out_dir: Path) -> None:
    """The output folder must be new or empty: a conversion is written whole or not at all."""
    if out_dir.is_dir() and any(out_dir.iterdir()):
        for split in SPLITS:
            if (out_dir / split).exists():
                raise FileExistsError(
                    f"{out_dir / split} is not empty; convert into a new output folder or remove it"
                )
        raise FileExistsError(
            f"{out_dir} is not empty; convert into a new output folder or remove it"
        )


def convert_kth(
    raw_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    size: int = 128,
    sequences_file: str | os.PathLike | None = None,
    persons_train: Iterable[int] = TRAIN_PERSONS,
    persons_test: Iterable[int] = TEST_PERSONS,
    actions: Sequence[str] = ACTIONS,
    log: Callable[[str], None] | None = None,
    max_frames: int = MAX_VIDEO_FRAMES,
) -> KTHSummary:
    """Convert the KTH archive's AVIs under raw_dir into `out_dir/{train,test}` frame folders.

    size: side of the square gray frames. sequences_file: the archive's sequences.txt; with it,
    each video becomes one folder per listed sub-sequence, without it one folder per video.
    persons_train / persons_test: disjoint person numbers of each split (default the field's
    1-16 / 17-25); a person in neither is skipped. actions: the actions to convert. log: called
    with one line per source file (e.g. `print`).

    Only .avi files are considered. Files whose name does not match personNN_<action>_dN_uncomp.avi
    and files ffmpeg cannot decode or that hold more than `max_frames` frames are skipped and
    listed in the returned summary, as are sub-sequences outside the decoded frames. Ends by
    writing `out_dir/manifest.csv`, one row per folder written (MANIFEST_COLUMNS).
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    actions = check_actions(actions)
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    persons = {"train": set(persons_train), "test": set(persons_test)}
    if persons["train"] & persons["test"]:
        both = sorted(persons["train"] & persons["test"])
        raise ValueError(f"persons {both} are in both the train and the test split")
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"KTH folder {raw_dir} does not exist or is not a folder")
    sequences = parse_sequences(sequences_file) if sequences_file is not None else None
    summary = KTHSummary(out_dir)
    videos = _find_videos(raw_dir, summary)
    _check_out(out_dir)
    # Written into a hidden folder beside out_dir and renamed into place at the end, so a killed
    # conversion leaves no half dataset; the next conversion to out_dir removes what it left.
    with atomic_folder(out_dir) as tmp:
        for split in SPLITS:
            (tmp / split).mkdir()
        manifest = _convert_videos(
            videos, tmp, size, sequences, persons, actions, summary, log, max_frames
        )
        written = write_manifest(tmp, MANIFEST_COLUMNS, manifest)
    summary.manifest = out_dir / written.name
    return summary


def _convert_videos(
    videos: list[KTHVideo],
    out_dir: Path,
    size: int,
    sequences: dict[str, list[tuple[int, int]]] | None,
    persons: dict[str, set[int]],
    actions: Sequence[str],
    summary: KTHSummary,
    log: Callable[[str], None] | None,
    max_frames: int = MAX_VIDEO_FRAMES,
) -> list[dict]:
    """Write each video's frame folders under out_dir/{train,test}; returns the manifest rows."""
    manifest = []
    for video in videos:
        if video.action not in actions:
            continue
        split = _split_of(video.person, persons)
        if split is None:
            summary.skipped.append((video.path.name, f"person {video.person} in neither split"))
            continue
        try:
            frames = read_video_gray(video.path, size, max_frames)
        except TooManyFrames as err:
            summary.skipped.append((video.path.name, str(err)))
            continue
        except (OSError, RuntimeError, ValueError) as err:  # ffmpeg's failures vary by container
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            summary.skipped.append((video.path.name, f"cannot decode: {reason}"))
            continue
        if len(frames) == 0:
            summary.skipped.append((video.path.name, "no frames decoded"))
            continue
        ranges = _ranges(video, len(frames), sequences, summary)
        for start, end in ranges:
            meta = {
                "person": video.person,
                "action": video.action,
                "label": ACTIONS.index(video.action),
                "scenario": video.scenario,
                "source": video.path.name,
                "frames": [start, end],
            }
            name = f"video_{summary.videos[split]:05d}"
            write_video_frames(out_dir / split / name, frames[start - 1 : end], meta=meta)
            manifest.append(
                {
                    "split": split,
                    "folder": name,
                    "source": video.path.name,
                    "person": video.person,
                    "action": video.action,
                    "scenario": video.scenario,
                    "first_frame": start,
                    "last_frame": end,
                }
            )
            summary.videos[split] += 1
            summary.frames[split] += end - start + 1
        summary.sources[split] += bool(ranges)
        if log is not None:
            log(f"{video.path.name}: {len(frames)} frames -> {split}, {len(ranges)} videos")
    return manifest
