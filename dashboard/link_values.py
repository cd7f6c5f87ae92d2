"""The values of a link, checked: each parser returns what the session can show or raises
`Ignored`, whose message names the limit. The link table (dashboard/link_table.py) is made of them.

The paths are the part that matters for safety: `model_path` and `dataset_file` resolve a path
(links and `..` first, `settings.inside_roots`) and accept it only inside the checkpoint roots,
with a checkpoint's suffix or as a `.npy` file the Input page lists. Nothing is opened here, and
nothing outside the roots is touched beyond resolving its name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from dashboard.model_state import LoadedModel, ModelRef
from dashboard.settings import (
    CHECKPOINT_SUFFIXES,
    display_path,
    find_files,
    inside_roots,
    label_paths,
    load_settings,
)
from lmc.analysis.inputs import Clip
from lmc.demos import DEMOS, available_demos, demo_label, demo_path


class Ignored(ValueError):
    """A value of a link that cannot be shown. The message follows `name=value` in the note the
    page shows, e.g. ' is out of range: the test set has clips 0 .. 3'."""


@dataclass(frozen=True)
class Context:
    """What a value is checked against: the session's model, its input (None when there is none
    that fits the model) and the session's state (a value may depend on one set before it)."""

    loaded: LoadedModel
    clip: Clip | None
    state: MutableMapping

    def slots(self) -> int:
        if self.loaded.model.memory is None:
            raise Ignored(": this model has no memory, so no slots")
        return self.loaded.model.config.memory_size

    def grid(self, on_input: bool = True) -> tuple[int, int]:
        """The query grid (rows, columns) on the input's frames, or on the model's own size."""
        if self.loaded.model.memory is None:
            raise Ignored(": this model has no memory, so no cells")
        if on_input and self.clip is None:
            raise Ignored(": the input does not fit this model")
        size = self.loaded.model.config.image_size
        return self.loaded.model.query_grid(
            *(self.clip.frames.shape[-2:] if on_input else (size, size))
        )


Parse = Callable[[str, Context], object]


def number(text: str, low: float, high: float, limit: str, step: float = 1, cast=int):
    """`text` as a number in low .. high on the grid low + k * step, cast to `cast`."""
    try:
        value = float(text) if cast is float else int(text)
    except ValueError:
        kind = "a number" if cast is float else "a whole number"
        raise Ignored(f" is not {kind}; {limit}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise Ignored(f" is out of range: {limit}")
    steps = (value - low) / step
    if abs(steps - round(steps)) > 1e-9:
        raise Ignored(f" is not a setting of the slider: {limit}")
    return cast(value)


def whole(bounds: Callable[[Context], tuple[int, int, str]]) -> Parse:
    """A whole number within (low, high, limit) = bounds(context)."""
    return lambda text, ctx: number(text, *bounds(ctx))


def stepped(grid: tuple, what: str, cast=int) -> Parse:
    """A setting of a slider (low, high, step); `what` names it in the limit."""
    low, high, step = grid
    limit = f"{what} is {low} .. {high} in steps of {step}"
    return lambda text, ctx: number(text, low, high, limit, step, cast)


def choice(options: Mapping[str, object], what: str, kinds: str = "") -> Parse:
    """One of `options` by its name in the link; `what` says what one is, `kinds` what they are
    ("the phases are short, long"; "they are ..." without)."""
    they = f"the {kinds}" if kinds else "they"

    def parse(text: str, ctx: Context):
        if text not in options:
            raise Ignored(f" is not {what}; {they} are {', '.join(options)}")
        return options[text]

    return parse


# ------------------------------------------------------------------------------ files
def model_path(value: str) -> tuple[Path, str]:
    """The checkpoint a link names and its label: a bundled demo by name, or a file with a
    checkpoint suffix inside the checkpoint roots. Ignored otherwise."""
    if value in DEMOS:
        if value not in available_demos():
            raise Ignored(
                f": the bundled demo {value!r} is not on disk; the demos on disk are "
                f"{', '.join(available_demos()) or 'none'}"
            )
        path = demo_path(value).resolve()
        return path, demo_label(path)
    roots = load_settings().roots
    try:
        path = inside_roots(value, roots)
    except (ValueError, OSError) as err:
        raise Ignored(
            f" is neither a bundled demo ({', '.join(DEMOS)}) nor a path the dashboard may "
            f"read: {err}"
        ) from None
    if not path.name.lower().endswith(CHECKPOINT_SUFFIXES):
        suffixes = ", ".join(CHECKPOINT_SUFFIXES)
        raise Ignored(f" is not a checkpoint: its name must end in {suffixes}")
    if not path.is_file():
        raise Ignored(": no such checkpoint inside the checkpoint folders")
    return path, next(iter(label_paths([path], roots)))


def model_name(ref: ModelRef | Path | None) -> str | None:
    """How a link names a checkpoint: a demo's name, a path inside the roots, or None (an
    upload, or a start checkpoint outside the roots: the next session opens it anyway)."""
    if ref is None:
        return None
    path = Path(ref.path if isinstance(ref, ModelRef) else ref).resolve()
    for name in available_demos():
        if demo_path(name).resolve() == path:
            return name
    try:
        return display_path(inside_roots(path, load_settings().roots))
    except ValueError:
        return None


def dataset_file(value: str) -> tuple[Path, str]:
    """The `.npy` file a link's `file` names and its label in the Input page's picker: it must be
    one the picker lists, so inside the roots once links are resolved."""
    roots = load_settings().roots
    try:
        path = inside_roots(value, roots)
    except (ValueError, OSError) as err:
        raise Ignored(f": {err}") from None
    listed = {p: label for label, p in label_paths(find_files(roots, (".npy",)), roots).items()}
    if path not in listed:
        raise Ignored(
            " is not a .npy dataset file of the checkpoint folders (the Input page lists them "
            "under Dataset file)"
        )
    return path, listed[path]
