"""Paths built from names that were read out of a file.

A cache index, a metadata file or a manifest is data, and data must not choose where the program
reads or deletes: a name such as `../../home/me/thesis.npy` or `/etc/passwd` in a `.lmc-cache`
index shipped with a downloaded dataset would otherwise be memory-mapped or unlinked. So every
such name goes through `inside`: it must be a bare file name (no folder part, not `.` or `..`),
match the pattern the writer uses, and still lie inside its root once symbolic links are
resolved. Anything else raises DataError, which the callers treat as "not ours, do not touch".
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lmc.errors import DataError

_SEPARATORS = {"/", "\\", os.sep, os.altsep or "/"}


def bare_name(name: object, pattern: str | None = None, *, source: str) -> str:
    """`name` itself when it is a bare file name that fully matches `pattern` (a regular
    expression); DataError naming `source` (the file it was read from) otherwise."""
    if not isinstance(name, str) or name in ("", ".", "..") or "\0" in name:
        raise DataError(f"{source}: {name!r} is not a file name")
    if any(sep in name for sep in _SEPARATORS):
        raise DataError(
            f"{source}: {name!r} is not a bare file name (it names a folder or an absolute path); "
            "only names of files beside it are accepted"
        )
    if pattern is not None and re.fullmatch(pattern, name) is None:
        raise DataError(f"{source}: file name {name!r} does not match the expected {pattern}")
    return name


def inside(
    root: str | os.PathLike, name: object, pattern: str | None = None, *, source: str
) -> Path:
    """`root / name` for a name read from the file `source`, checked by `bare_name`, and refused
    (DataError) when a symbolic link makes it resolve outside `root`."""
    root = Path(root)
    path = root / bare_name(name, pattern, source=source)
    try:
        real_root, real = root.resolve(), path.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symbolic-link loop
        raise DataError(f"{source}: {path} cannot be resolved: {err}") from None
    if not real.is_relative_to(real_root):
        raise DataError(
            f"{source}: {path} is a symbolic link to {real}, outside {real_root}; refused"
        )
    return path
