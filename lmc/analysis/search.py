"""Search the (clip, cell) pairs of a dataset pass by top slot, true motion, digit, place and
motion family.

The Slot atlas shows the 16 cells that weigh a slot most. A search answers the questions around
it: every cell whose top slot is 7, the cells moving left at 2 to 3 px/frame, the top row of the
clips that hold a 3; sorted by the weight on the top slot or by clip, and cut into pages, so the
17th match is as reachable as the first. Numpy in, a page of rows out: the dashboard's Search
page and notebooks call the same function.

Directions are screen angles (lmc.data.motion: 0 rightwards, 90 upwards, counterclockwise). The
eight bins are lmc.analysis.health.direction_bin's, bin 0 centred on rightwards, and carry the
names of the dashboard's arrows (→ right, ↗ up-right, ...). A pair whose cell no digit crossed
has no direction or speed: any motion filter leaves it out. On clips with motion contexts a cell's
family is the one `lmc.analysis.families.known_families` gives (the family of the digit covering
it enough over the input); a cell without one matches no family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lmc.analysis.families import family_name, known_families
from lmc.analysis.health import direction_bin
from lmc.data.motion_contexts import FAMILIES, family_index

if TYPE_CHECKING:  # pandas is imported where a table is made
    import pandas as pd

    from lmc.analysis.dataset_pass import DatasetPass

DIRECTION_NAMES = ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
SORTS = ("weight", "clip")  # weight on the top slot, highest first; or clip, then cell
PAGE_SIZE = 16  # the Slot atlas's gallery: one page of search results is one such gallery
NUM_DIGITS = 10


@dataclass(frozen=True)
class Query:
    """What a (clip, cell) pair must satisfy; None: any. All given filters must hold.

    slot: its top-1 slot. direction: its true direction's bin, by name (DIRECTION_NAMES) or
    number 0 .. 7. degrees: (start, end) in 0 .. 360, its direction lies counterclockwise from
    start to end (start > end wraps through 0, e.g. (315, 45) around rightwards). speed: (low,
    high) px/frame, inclusive. digit: a digit class present in its clip. cell: its index
    (row-major); row, col: its place on the grid. family: its motion family, by name (FAMILIES)
    or index.
    """

    slot: int | None = None
    direction: str | int | None = None
    degrees: tuple[float, float] | None = None
    speed: tuple[float, float] | None = None
    digit: int | None = None
    cell: int | None = None
    row: int | None = None
    col: int | None = None
    family: str | int | None = None

    @property
    def uses_motion(self) -> bool:
        return self.direction is not None or self.degrees is not None or self.speed is not None


@dataclass
class SearchPage:
    """One page of the matches, in order: clip (positions into the pass, not the source's clip
    numbers), cell, slot (the top-1 slot) and weight (on it), each (k,). total: the matches over
    all pages; page (from 1) and page_size as asked; an empty page past the end."""

    clip: np.ndarray
    cell: np.ndarray
    slot: np.ndarray
    weight: np.ndarray
    total: int
    page: int
    page_size: int

    @property
    def num_pages(self) -> int:
        return math.ceil(self.total / self.page_size)

    @property
    def first(self) -> int:
        """The rank of this page's first row among all matches (0-based)."""
        return (self.page - 1) * self.page_size


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}={value!r}: must be a whole number")
    return int(value)


def _index(name: str, value, count: int, what: str) -> int:
    value = _whole(name, value)
    if not 0 <= value < count:
        raise ValueError(f"{name}={value}: {what} {0} .. {count - 1}")
    return value


def direction_index(direction: str | int) -> int:
    """A direction bin by name ("up-left") or number (0 .. 7) -> its number."""
    if isinstance(direction, str):
        if direction not in DIRECTION_NAMES:
            raise ValueError(
                f"direction={direction!r}: the directions are {', '.join(DIRECTION_NAMES)} "
                f"(or their bin numbers 0 .. {len(DIRECTION_NAMES) - 1})"
            )
        return DIRECTION_NAMES.index(direction)
    return _index("direction", direction, len(DIRECTION_NAMES), "the direction bins are")


def _family_index(family: str | int) -> int:
    if isinstance(family, str):
        return family_index(family)
    return _index("family", family, len(FAMILIES), "the families are")


def _pair(name: str, value, low: float, high: float | None, unit: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: must be two numbers ({unit})") from None
    top = "" if high is None else f" .. {high:g}"
    for v in (a, b):
        if not (math.isfinite(v) and v >= low and (high is None or v <= high)):
            raise ValueError(f"{name}={value!r}: both ends must lie in {low:g}{top} ({unit})")
    return a, b


def _motion_mask(
    query: Query, direction: np.ndarray | None, speed: np.ndarray | None
) -> np.ndarray | bool:
    if not query.uses_motion:
        return True
    if direction is None or speed is None:
        raise ValueError(
            "this pass carries no true motion (its clips are not generated Moving-MNIST), so it "
            "cannot be searched by direction or speed"
        )
    keep = np.isfinite(direction)
    if query.direction is not None:
        keep &= direction_bin(direction) == direction_index(query.direction)
    if query.degrees is not None:
        start, end = _pair("degrees", query.degrees, 0, 360, "degrees counterclockwise from →")
        angle = np.mod(np.degrees(np.where(keep, direction, 0.0)), 360.0)
        if start <= end:
            keep &= (start <= angle) & (angle <= end)
        else:  # through 0 (rightwards)
            keep &= (angle >= start) | (angle <= end)
    if query.speed is not None:
        low, high = _pair("speed", query.speed, 0, None, "pixels per frame")
        if low > high:
            raise ValueError(f"speed={query.speed!r}: the low end must not exceed the high end")
        keep &= (speed >= low) & (speed <= high)
    return keep


def _place_mask(query: Query, cells: int, grid: tuple[int, int] | None) -> np.ndarray | bool:
    keep: np.ndarray | bool = True
    index = np.arange(cells)
    if query.cell is not None:
        keep = index == _index("cell", query.cell, cells, "the grid has cells")
    if query.row is None and query.col is None:
        return keep
    if grid is None or grid[0] * grid[1] != cells:
        raise ValueError(f"a row or column needs the grid of the {cells} cells (grid={grid})")
    rows, cols = grid
    row, col = np.divmod(index, cols)
    if query.row is not None:
        keep = keep & (row == _index("row", query.row, rows, "the grid has rows"))
    if query.col is not None:
        keep = keep & (col == _index("col", query.col, cols, "the grid has columns"))
    return keep


def search(
    weights: np.ndarray,
    query: Query = Query(),
    *,
    direction: np.ndarray | None = None,
    speed: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    grid: tuple[int, int] | None = None,
    families: np.ndarray | None = None,
    sort: str = "weight",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """Page `page` (from 1) of the (clip, cell) pairs of weights (N, cells, S) that satisfy
    `query`. direction, speed (N, cells) the true motion (NaN where no digit), labels (N, D) the
    digits of each clip, grid (rows, cols), families (N, cells) each cell's family (-1: none):
    needed only by the filters that read them.
    sort: "weight" (on the top slot, highest first, ties by clip and cell) or "clip"."""
    weights = np.asarray(weights)
    if weights.ndim != 3:
        raise ValueError(f"weights has shape {weights.shape}; expected (N, cells, S)")
    n, cells, size = weights.shape
    if sort not in SORTS:
        raise ValueError(f"sort={sort!r}: the sorts are {', '.join(SORTS)}")
    page = _whole("page", page)
    page_size = _whole("page_size", page_size)
    if page < 1 or page_size < 1:
        raise ValueError(f"page={page}, page_size={page_size}: both count from 1")
    top = weights.argmax(axis=-1)  # (N, cells)
    keep = np.ones((n, cells), bool)
    if query.slot is not None:
        keep &= top == _index("slot", query.slot, size, "the memory has slots")
    keep &= _motion_mask(query, direction, speed)
    keep &= _place_mask(query, cells, grid)
    if query.digit is not None:
        digit = _index("digit", query.digit, NUM_DIGITS, "the digits are")
        if labels is None:
            raise ValueError("this pass carries no digit labels, so it cannot be searched by digit")
        keep &= (np.asarray(labels) == digit).any(axis=1)[:, None]
    if query.family is not None:
        family = _family_index(query.family)
        if families is None:
            raise ValueError(
                "this pass carries no motion families (its clips are not the motion-context "
                "test set), so it cannot be searched by family"
            )
        keep &= np.asarray(families) == family
    found = np.flatnonzero(keep)  # row-major: by clip, then cell
    clip, cell = np.divmod(found, cells)
    weight = weights[clip, cell, top[clip, cell]]
    if sort == "weight":
        order = np.argsort(-weight, kind="stable")  # stable: ties keep clip, cell order
        clip, cell, weight = clip[order], cell[order], weight[order]
    rows = slice((page - 1) * page_size, page * page_size)
    return SearchPage(
        clip=clip[rows],
        cell=cell[rows],
        slot=top[clip[rows], cell[rows]],
        weight=weight[rows],
        total=len(found),
        page=page,
        page_size=page_size,
    )


def search_pass(
    result: DatasetPass, query: Query = Query(), phase: str = "short", **options
) -> SearchPage:
    """`search` over a dataset pass's recall `phase` ("short" or "long"), with its true motion,
    digit labels, grid and cell families; options: sort, page, page_size."""
    return search(
        result.phase(phase)["weights"],
        query,
        direction=result.direction,
        speed=result.speed,
        labels=result.labels,
        grid=result.grid,
        families=pass_families(result),
        **options,
    )


def pass_families(result: DatasetPass) -> np.ndarray | None:
    """(N, cells) each cell's known family (-1: none), or None for a pass without families."""
    if not result.has_families:
        return None
    return known_families(result.cell_family, result.family_coverage)


def direction_text(direction: float) -> str:
    """A screen angle in radians as its bin's name and its degrees ("up-left 128°")."""
    if not np.isfinite(direction):
        return "no digit"
    name = DIRECTION_NAMES[int(direction_bin(np.asarray(direction)))]
    return f"{name} {math.degrees(direction) % 360:.0f}°"


def page_table(result: DatasetPass, found: SearchPage) -> pd.DataFrame:
    """The rows of a page with what the pass knows of them, columns named in words."""
    import pandas as pd

    clip, cell = found.clip, found.cell
    cols = result.grid[1]
    table = pd.DataFrame(
        {
            "clip": result.clip_index[clip],
            "cell": cell,
            "row": cell // cols,
            "column": cell % cols,
            "top slot": found.slot,
            "weight": found.weight,
        }
    )
    if result.direction is not None:
        table["true direction"] = [direction_text(d) for d in result.direction[clip, cell]]
        table["speed (px/frame)"] = result.speed[clip, cell]
    if result.labels is not None:
        table["digits in the clip"] = [", ".join(map(str, result.labels[c])) for c in clip]
    if (families := pass_families(result)) is not None:
        table["family"] = [family_name(f) for f in families[clip, cell]]
    return table


def match_table(
    result: DatasetPass, query: Query = Query(), phase: str = "short", sort: str = "weight"
) -> pd.DataFrame:
    """Every match of `query` in order, not one page: `page_table`'s columns over all pages one
    after the other, with the true direction in degrees (0 .. 360, NaN where no digit) beside its
    words, so a spreadsheet can filter on it."""
    everything = max(1, result.num_clips * result.num_cells)
    found = search_pass(result, query, phase, sort=sort, page=1, page_size=everything)
    table = page_table(result, found)
    if result.direction is not None:
        degrees = np.mod(np.degrees(result.direction[found.clip, found.cell]), 360.0)
        table.insert(table.columns.get_loc("true direction") + 1, "true direction (°)", degrees)
    return table
