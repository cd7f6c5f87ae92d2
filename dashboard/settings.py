"""What the dashboard reads from the environment, and the folders it may read files from.

LMC_DEMO_CHECKPOINT   the model opened at start (default: the live demo, models/demo-live/, where it
                      exists, else the paper demo, models/demo/; see lmc.demos)
LMC_CHECKPOINT_ROOTS  folders the file pickers may read, separated by ':' (default models:runs)
LMC_TEST_CLIPS        clips of the generated test set on the Input page (default 1000, the fixed
                      test set that `train.test` evaluates, so clip numbers mean the same there)
LMC_DASHBOARD_TRACE   a file to which each page and fragment run appends a line (benchmarks)

Relative paths are relative to the repository. Every path a user picks or types goes through
`inside_roots`, which resolves links and `..` first, so no picker can leave its roots. The files
read beside a checkpoint (its model card, metrics log, health report) go through `beside`, so a
link planted among them cannot lead out of the checkpoint's folder either.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lmc.demos import DEMO_CHECKPOINT
from lmc.errors import DataError
from lmc.paths import inside

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEMO = str(DEMO_CHECKPOINT)  # repository-relative, named once in lmc.demos
DEFAULT_ROOTS = "models:runs"
# The server refuses bigger uploads (server.maxUploadSize, dashboard/launch.py); pages check too.
MAX_UPLOAD_MB = 64
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth")
# Folders a walk never enters: environments, caches and version control hold no user data.
SKIP_DIRS = {".venv", "venv", "node_modules", "__pycache__", ".git", ".lmc-cache"}
MAX_LISTED = 500
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Settings:
    demo_checkpoint: Path
    roots: tuple[Path, ...]
    test_clips: int
    trace_file: Path | None
    max_upload_mb: int = MAX_UPLOAD_MB


def _repo_path(text: str) -> Path:
    path = Path(text).expanduser()
    return (path if path.is_absolute() else REPO / path).resolve()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """The settings from `env` (default os.environ); a bad value raises ValueError naming it."""
    env = os.environ if env is None else env
    roots = tuple(
        _repo_path(part)
        for part in env.get("LMC_CHECKPOINT_ROOTS", DEFAULT_ROOTS).split(os.pathsep)
        if part.strip()
    )
    raw_clips = env.get("LMC_TEST_CLIPS", "1000")
    try:
        test_clips = int(raw_clips)
    except ValueError:
        test_clips = 0
    if test_clips < 1:
        raise ValueError(f"LMC_TEST_CLIPS={raw_clips!r}: must be an integer >= 1")
    trace = env.get("LMC_DASHBOARD_TRACE")
    return Settings(
        demo_checkpoint=_repo_path(env.get("LMC_DEMO_CHECKPOINT", DEFAULT_DEMO)),
        roots=roots,
        test_clips=test_clips,
        trace_file=Path(trace) if trace else None,
    )


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def inside_roots(path: str | os.PathLike, roots: Iterable[Path]) -> Path:
    """`path` resolved (relative paths against the repository); ValueError if it lies outside
    every root, so that neither `..` nor a symbolic link can lead a picker elsewhere. A path
    that is outside them as written is refused before anything on disk is looked at, and one
    that cannot be resolved (a symbolic-link loop) is refused too."""
    roots = list(roots)
    listed = ", ".join(str(r) for r in roots) or "(none configured)"
    outside = ValueError(
        f"{path} is outside the folders the dashboard may read ({listed}); set "
        "LMC_CHECKPOINT_ROOTS to add a folder"
    )
    try:
        written = Path(str(path)).expanduser()
        written = Path(os.path.normpath(written if written.is_absolute() else REPO / written))
        if not _under(written, roots):  # the roots are resolved: one way into them is their own
            raise outside
        resolved = _repo_path(str(path))
    # RuntimeError: a symbolic-link loop, or ~user of no known user
    except (OSError, RuntimeError) as err:
        raise ValueError(f"{path} cannot be resolved: {err}") from None
    if _under(resolved, roots):
        return resolved
    raise outside


def beside(checkpoint: Path, name: str) -> Path | None:
    """The file `name` in the checkpoint's folder, or None when there is none or it is a link
    that resolves outside that folder (`lmc.paths.inside`)."""
    try:
        path = inside(checkpoint.parent, name, source=str(checkpoint))
    except DataError:
        return None
    return path if path.is_file() else None


def _walk(root: Path, max_depth: int) -> Iterator[Path]:
    """Files and folders under root, sorted, hidden and SKIP_DIRS entries left out."""
    if not root.is_dir():
        return
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError:
            continue  # unreadable folder: list what can be listed
        subfolders = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                continue
            yield entry
            if entry.is_dir() and depth < max_depth:
                subfolders.append((entry, depth + 1))
        stack.extend(reversed(subfolders))


def find_files(roots: Iterable[Path], suffixes: tuple[str, ...], max_depth: int = 4) -> list[Path]:
    """Files under the roots whose name ends in one of `suffixes`, inside the roots once links
    are resolved, at most MAX_LISTED."""
    roots = list(roots)
    found: list[Path] = []
    for root in roots:
        for entry in _walk(root, max_depth):
            if entry.name.lower().endswith(suffixes) and entry.is_file():
                try:
                    found.append(inside_roots(entry, roots))
                except ValueError:
                    continue  # a link out of the roots
                if len(found) >= MAX_LISTED:
                    return found
    return list(dict.fromkeys(found))


def find_folders(
    roots: Iterable[Path], holds: str | tuple[str, ...], max_depth: int = 4
) -> list[Path]:
    """Folders under the roots (roots included) that directly hold every file named in `holds`."""
    names = (holds,) if isinstance(holds, str) else holds
    roots = list(roots)
    found = []
    for root in roots:
        candidates = [root, *(e for e in _walk(root, max_depth) if e.is_dir())]
        for folder in candidates:
            if all((folder / name).is_file() for name in names):
                found.append(folder.resolve())
    return [f for f in dict.fromkeys(found) if any(f.is_relative_to(r) for r in roots)]


def find_frame_datasets(roots: Iterable[Path], max_depth: int = 3) -> list[Path]:
    """Folders under the roots laid out as frame-folder datasets: a first sub-folder (a video)
    that holds image files (see lmc.data.folders)."""
    roots = list(roots)
    found = []
    for root in roots:
        for folder in [root, *(e for e in _walk(root, max_depth) if e.is_dir())]:
            videos = [e for e in _walk(folder, 0) if e.is_dir()]
            if videos and any(
                f.suffix.lower() in FRAME_SUFFIXES
                for f in itertools.islice(_walk(videos[0], 0), 50)
            ):
                found.append(folder.resolve())
            if len(found) >= MAX_LISTED:
                return found
    return list(dict.fromkeys(found))


def label_paths(paths: Iterable[Path], roots: Iterable[Path]) -> dict[str, Path]:
    """{label: path} for a picker: each path shown as `<root folder name>/<path inside it>`,
    short and readable wherever the roots are; the full path where two labels would clash."""
    roots = list(roots)
    labels: dict[str, Path] = {}
    for path in paths:
        root = next((r for r in roots if path == r or path.is_relative_to(r)), None)
        label = str(path) if root is None else str(Path(root.name) / path.relative_to(root))
        if label in labels and labels[label] != path:
            label = str(path)
        labels[label] = path
    return labels


def display_path(path: Path) -> str:
    """`path` relative to the repository when it lies inside it, else absolute."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
