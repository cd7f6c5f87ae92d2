"""Low-level file I/O under every file format of the project.

Atomic writes: readers (another rank, a second run, the dashboard) see either no file or a whole
one, never a torn one, and an interrupted write leaves nothing behind (a killed one leaves its
hidden temporary file, which `remove_stale_temps` clears at the next start). A folder written as
a whole (`atomic_folder`, a dataset export) works the same way, one level up. Safe reads of
PyTorch files: `torch.load(weights_only=True)` only, which never runs pickled code.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lmc.errors import CheckpointError

# temp_path's names: .tmp-<writer's pid>-<8 hex>-<final name>
_TEMP_NAME = re.compile(r"\.tmp-(\d+)-[0-9a-f]{8}-(.+)")


def temp_path(final: str | os.PathLike) -> Path:
    """A hidden sibling of `final`, unique per writer, that keeps `final`'s suffix last (so
    writers that add a missing suffix, such as np.save, write exactly this name)."""
    final = Path(final)
    return final.parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{final.name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a number no process has: keep its file
    return True


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that writers killed mid-write (SIGKILL, power loss) left in
    `folder`; returns what was deleted. Only plain files named by `temp_path` whose writer
    process is gone are touched, so a write in progress elsewhere is left alone."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed  # no folder yet: nothing left behind
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        if _alive(int(match.group(1))):
            continue
        Path(entry.path).unlink(missing_ok=True)
        removed.append(Path(entry.path))
    return removed


def remove_stale_temp_folders(folder: str | os.PathLike, final_name: str) -> list[Path]:
    """Delete the temporary folders that killed `atomic_folder` writers of `folder/final_name`
    left (a half-written dataset); returns what was deleted. Only folders named by `temp_path`
    for that final name whose writer process is gone; a symbolic link is never followed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None or match.group(2) != final_name:
            continue
        if not entry.is_dir(follow_symlinks=False) or _alive(int(match.group(1))):
            continue
        shutil.rmtree(entry.path)
        removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `path` to fill; when the block ends, it is renamed
    onto `path` (absent or an empty folder), so readers see no folder or a whole one. An error
    removes it; a kill leaves it, and the next `atomic_folder` for the same path removes it
    (`remove_stale_temp_folders`). Its files are not fsynced one by one: this guards against a
    killed process, not a lost machine."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_folders(path.parent, path.name)
    tmp = temp_path(path)
    tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, path)  # POSIX replaces an empty folder; a full one fails (ENOTEMPTY)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` with a temporary path next to `path`, flush it to disk, then rename it
    onto `path`. The file gets the umask's permissions whatever the writer chose (safetensors,
    like tempfile.mkstemp, creates 0600), so a shared cache or checkpoint stays readable by the
    other users of the project."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# torch.save stores every record of its zip form uncompressed, so the records of a genuine file
# unpack to less than the file's own size; the margin is slack for nothing in particular.
ZIP_RECORD_MARGIN = 1 << 20


def check_zip_records(path: Path | str, max_bytes: int | None = None) -> None:
    """CheckpointError unless the records of the zip-form PyTorch file at `path` unpack, by
    what its directory declares, to at most `max_bytes` together (default: the file's own size
    plus ZIP_RECORD_MARGIN), and each has a name. torch's reader allocates a record's declared
    size and inflates into it, so a small DEFLATE-compressed record can ask for gigabytes; this
    reads the directory alone, before torch reads anything."""
    size = os.path.getsize(path)
    limit = size + ZIP_RECORD_MARGIN if max_bytes is None else max_bytes
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, IndexError) as err:
        raise CheckpointError(
            f"{path} cannot be read (truncated or corrupted?): its zip directory: {err}"
        ) from None
    if any(not info.filename for info in records):
        raise CheckpointError(f"{path} holds a zip record with an empty name; not a PyTorch file")
    total = sum(info.file_size for info in records)
    if total > limit:
        largest = max(records, key=lambda info: info.file_size)
        why = " (its own size plus 1 MiB)" if max_bytes is None else ""
        raise CheckpointError(
            f"{path}: its records declare {total:,} bytes ({_gb(total)}) unpacked, "
            f"{largest.filename} alone {largest.file_size:,} bytes; the limit for this file "
            f"({size:,} bytes on disk) is {limit:,} bytes{why}"
        )


def _gb(count: int) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 1e8 else f"{count / 1e6:.1f} MB"


def _torch_load_errors() -> tuple[type[BaseException], ...]:
    """What torch.load raises for a damaged file: its zip reader's RuntimeError, and whatever its
    unpickler's parser runs into at a cut or forged byte (a one-byte file ends in IndexError)."""
    import struct

    from safetensors import SafetensorError

    return (
        RuntimeError,
        EOFError,
        zipfile.BadZipFile,
        OSError,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        struct.error,
        RecursionError,
        SafetensorError,  # torch.load hands a file it takes for safetensors to that reader
    )


def safe_torch_load(path: Path | str, max_bytes: int | None = None) -> Any:
    """`torch.load` that never executes pickled code, with clear errors. A zip-form file's
    records are bounded first (`check_zip_records`, `max_bytes`)."""
    import torch

    try:
        with open(path, "rb") as f:
            zip_form = f.read(4) == b"PK\x03\x04"  # what torch.load takes for its zip form
    except OSError as err:
        raise CheckpointError(f"{path} cannot be read: {err}") from None
    if zip_form:
        check_zip_records(path, max_bytes)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} was refused: loading it would need unpickling arbitrary Python objects, which "
            f"could run code. Only tensors and plain containers are accepted. ({err})"
        ) from None
    except _torch_load_errors() as err:
        reason = str(err) or type(err).__name__
        raise CheckpointError(
            f"{path} cannot be read (truncated or corrupted?): {reason}"
        ) from None
