"""The values of a link (dashboard/url_state.py), checked: each parser returns what the session
can show or raises `Ignored`, whose message names the value and its limit.

The paths are the part that matters for safety: `model_path` and `dataset_file` resolve a path
(links and `..` first, `settings.inside_roots`) and accept it only inside the checkpoint roots,
with a checkpoint's suffix or as a `.npy` file the Input page lists. Nothing is opened here, and
nothing outside the roots is touched beyond resolving its name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

from dashboard.input_state import (
    PROBE_DIRECTION,
    PROBE_FAMILIES,
    PROBE_FUTURE,
    PROBE_MAX_DIGITS,
    PROBE_SEED,
    PROBE_SPEED,
    PROBE_TURN,
    Probe,
)
from dashboard.settings import (
    CHECKPOINT_SUFFIXES,
    find_files,
    inside_roots,
    label_paths,
    load_settings,
)
from lmc.demos import DEMOS, available_demos, demo_label, demo_path


class Ignored(ValueError):
    """A value of the URL that cannot be shown; the message says why, naming the limit."""


def integer(params: Mapping[str, str], name: str, low: int, high: int, limit: str) -> int:
    """params[name] as an integer in low .. high; Ignored names the value and `limit`."""
    text = params[name]
    try:
        value = int(text)
    except ValueError:
        raise Ignored(f"`{name}={text}` is not a whole number; {limit}") from None
    if not low <= value <= high:
        raise Ignored(f"`{name}={text}` is out of range: {limit}")
    return value


def on_grid(params: Mapping[str, str], name: str, grid: tuple, what: str) -> float:
    """params[name] as a number on the (low, high, step) grid of a slider."""
    low, high, step = grid
    text = params[name]
    limit = f"{what} is {low} .. {high} in steps of {step}"
    try:
        value = float(text)
    except ValueError:
        raise Ignored(f"`{name}={text}` is not a number; {limit}") from None
    steps = (value - low) / step if math.isfinite(value) else math.nan
    if not (low <= value <= high and abs(steps - round(steps)) < 1e-9):
        raise Ignored(f"`{name}={text}` is not a setting of the probe: {limit}")
    return value


def checked(notes: list[str], parse: Callable, *args, default=None):
    """parse(*args), or `default` with the reason noted when the value is ignored."""
    try:
        return parse(*args)
    except Ignored as err:
        notes.append(str(err))
        return default


# ------------------------------------------------------------------------------ files
def model_path(value: str, name: str = "model") -> tuple[Path, str]:
    """The checkpoint a link's `model` (or another parameter `name`, such as the Compare page's
    `second`) names and its label: a bundled demo by name, or a file with a checkpoint suffix
    inside the checkpoint roots. Ignored otherwise; nothing outside the roots is touched beyond
    resolving its path."""
    if value in DEMOS:
        if value not in available_demos():
            raise Ignored(
                f"`{name}={value}`: the bundled demo {value!r} is not on disk; the demos on "
                f"disk are {', '.join(available_demos()) or 'none'}"
            )
        path = demo_path(value).resolve()
        return path, demo_label(path)
    roots = load_settings().roots
    demos = ", ".join(DEMOS)
    try:
        path = inside_roots(value, roots)
    except (ValueError, OSError) as err:
        raise Ignored(
            f"`{name}={value}` is neither a bundled demo ({demos}) nor a path the dashboard may "
            f"read: {err}"
        ) from None
    if not path.name.lower().endswith(CHECKPOINT_SUFFIXES):
        raise Ignored(
            f"`{name}={value}` is not a checkpoint: its name must end in "
            f"{', '.join(CHECKPOINT_SUFFIXES)}"
        )
    if not path.is_file():
        raise Ignored(f"`{name}={value}`: no such checkpoint inside the checkpoint folders")
    label = next(iter(label_paths([path], roots)))
    return path, label


def dataset_file(value: str) -> tuple[Path, str]:
    """The `.npy` file a link's `file` names and its label in the Input page's picker: it must be
    one the picker lists, so inside the roots once links are resolved."""
    roots = load_settings().roots
    try:
        path = inside_roots(value, roots)
    except (ValueError, OSError) as err:
        raise Ignored(f"`file={value}`: {err}") from None
    listed = {p: label for label, p in label_paths(find_files(roots, (".npy",)), roots).items()}
    if path not in listed:
        raise Ignored(
            f"`file={value}` is not a .npy dataset file of the checkpoint folders (the Input "
            "page lists them under Dataset file)"
        )
    return path, listed[path]


# ------------------------------------------------------------------------------ probe
def probe_from(params: Mapping[str, str], notes: list[str]) -> Probe:
    """The probe a link describes; each value that is not a setting of the probe is noted and
    left at its default."""
    base = Probe()
    digits = base.digits
    if "digits" in params:
        text = params["digits"]
        parts = [part.strip() for part in text.split(",")]
        if 1 <= len(parts) <= PROBE_MAX_DIGITS and all(
            len(part) == 1 and part in "0123456789" for part in parts
        ):
            digits = tuple(int(part) for part in parts)
        else:
            notes.append(
                f"`digits={text}` is not a list of 1 .. {PROBE_MAX_DIGITS} digits 0 .. 9 "
                "separated by commas (e.g. 3,7)"
            )
    values = {}
    for name, grid, what, cast in (
        ("direction", PROBE_DIRECTION, "the direction (degrees)", int),
        ("speed", PROBE_SPEED, "the speed (pixels per frame)", float),
        ("turn", PROBE_TURN, "the turn of each further digit (degrees)", int),
        ("future", PROBE_FUTURE, "the number of future frames", int),
        ("seed", PROBE_SEED, "the seed of the family's parameters", int),
    ):
        if name in params:
            value = checked(notes, on_grid, params, name, grid, what)
            if value is not None:
                values[name] = cast(value)
    if "family" in params:
        if params["family"] in PROBE_FAMILIES:
            values["family"] = params["family"]
        else:
            notes.append(
                f"`family={params['family']}` is not a motion family; the families are "
                f"{', '.join(PROBE_FAMILIES)}"
            )
    return Probe(digits, **values)
