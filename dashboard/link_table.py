"""Every value a link names, in one table: its name in the URL, the session key it sets (a
widget's), how the link's text becomes that value and how the value becomes text again.
dashboard/url_state.py applies the table when a link opens and writes it back after each run.

    ?model=live&testset=contexts&input=test&clip=12&seen=12       (every page: model and input)
    ?...&cell=5&phase=long&measure=cosine                                        (Recall)
    ?...&where=cell&cell=9&mode=slot&slot=87&strength=alone&step=3               (Intervene)
    ?...&slot=7&towards=315..45&speeds=1..3&family=zigzag&sort=clip&page=2       (Search)

A value left out of a link is the page's default; one the session holds at its `default` is left
out of the URL it writes. A link to Search names the whole search: the filters it leaves out are
"any". A value that cannot be shown is noted with its limit (dashboard/link_values.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

from dashboard import choices, test_set, views
from dashboard.input_state import (
    PROBE_DIRECTION,
    PROBE_FAMILIES,
    PROBE_FUTURE,
    PROBE_MAX_DIGITS,
    PROBE_SEED,
    PROBE_SPEED,
    PROBE_TURN,
)
from dashboard.keys import (
    Atlas,
    Compare,
    Embeddings,
    Health,
    Input,
    Intervene,
    Recall,
    Rollout,
    Search,
    Url,
)
from dashboard.link_values import (
    Context,
    Ignored,
    Parse,
    choice,
    model_name,
    model_path,
    number,
    stepped,
    whole,
)
from dashboard.memory_widgets.sample import SAMPLE_DEFAULT, SAMPLE_RANGE
from dashboard.model_state import ModelRef, open_checkpoint
from dashboard.search_options import ANY, DIRECTIONS, RANGE, SORTS, SPEED_STEP
from dashboard.second_model import DEMO, FOLDERS
from dashboard.series import BOTH_RECALLS, LONG_RECALL, SHORT_RECALL
from dashboard.settings import CHECKPOINT_SUFFIXES, find_files, label_paths, load_settings
from lmc.analysis import search as se
from lmc.analysis.inputs import default_out_len
from lmc.config import MIN_MOTION_FRAMES
from lmc.data.motion_contexts import FAMILIES
from lmc.demos import DEMO_TITLES, DEMOS


def text(value, ctx: Context) -> str | None:
    """A plain value as the URL writes it; None for anything else (left out)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Param:
    """One value of a link. `parse` gives the value of `key` (or a dict of keys and values, for a
    value kept in several keys) or raises Ignored; `format` gives the text of the key's value
    (None: left out); `default` (a value, or a function of the context) is left out too."""

    name: str
    key: str
    parse: Parse
    format: Callable[[object, Context], str | None] = text
    default: object = None

    def default_value(self, ctx: Context):
        return self.default(ctx) if callable(self.default) else self.default


def named(options: Mapping[str, object]) -> Callable[[object, Context], str | None]:
    """The format of a choice: a session value's name in the link."""
    names = {value: option for option, value in options.items()}
    return lambda value, ctx: names.get(value)


FIRST = object()  # a choice's default: its first option


def pick(name: str, key: str, options, what: str, default=None) -> Param:
    """A Param for one of `options`: {link name: session value}, or (link names, values) with the
    names in one string; `what` says what one is."""
    if isinstance(options, tuple):
        options = dict(zip(options[0].split(), options[1], strict=True))
    default = next(iter(options.values())) if default is FIRST else default
    return Param(name, key, choice(options, what), named(options), default)


def _swap(options: Mapping[str, str]) -> dict[str, str]:
    """{label: link name} -> {link name: label}."""
    return {name: label for label, name in options.items()}


def yes_no(name: str, key: str, default: bool) -> Param:
    return pick(name, key, {"yes": True, "no": False}, "yes or no", default)


# ------------------------------------------------------------------------------ parsers
def _cells(ctx: Context, on_input: bool = True) -> tuple[int, int, str]:
    rows, cols = ctx.grid(on_input)
    last = rows * cols - 1
    where = "on this input " if on_input else ""
    return 0, last, f"this model's query grid {where}has cells 0 .. {last} ({rows}x{cols})"


def _grid_part(axis: int, what: str) -> Parse:
    """A row (axis 0), a column (1) or a cell (None) of the query grid at the model's size."""

    def bounds(ctx: Context):
        rows, cols = ctx.grid(on_input=False)
        high = (rows, cols, rows * cols)[axis] - 1
        return (
            0,
            high,
            f"this model's query grid has {rows} rows and {cols} columns, {what} 0 .. {high}",
        )

    return whole(bounds)


def _slots(ctx: Context):
    last = ctx.slots() - 1
    return 0, last, f"this model's memory has slots 0 .. {last}"


CLIPS = stepped(SAMPLE_RANGE, "the clip slider")
PHASES = {"short": SHORT_RECALL, "long": LONG_RECALL}
RECALL_PHASES = {**PHASES, "both": BOTH_RECALLS}


def _recall_phase(text: str, ctx: Context) -> str:
    phase = choice(RECALL_PHASES, "a phase of this page", "phases")(text, ctx)
    clip = ctx.clip
    if phase != SHORT_RECALL and clip is not None:
        t = clip.frames.shape[0]
        if not (t > clip.short_len and t >= MIN_MOTION_FRAMES):
            raise Ignored(
                f": the input has no frames after the {clip.short_len} the model sees, so "
                "there is no long-window (phase 1) recall"
            )
    return phase


def _intervene_step(ctx: Context) -> tuple[int, int, str]:
    last = default_out_len(ctx.clip) if ctx.clip is not None else 1
    return 1, last, f"the output steps are 1 .. {last}"


def _default_out_len(ctx: Context) -> int | None:
    return None if ctx.clip is None else default_out_len(ctx.clip)


def _frames(ctx: Context) -> tuple[int, int, str]:
    last = _out_len(ctx)
    return 1, last, f"the rollout predicts frames 1 .. {last}"


def _out_len(ctx: Context) -> int:
    """The frames the Rollout page predicts for the input (the link's, or the clip's default)."""
    if ctx.clip is not None and ctx.state.get(Rollout.OUT_LEN_FOR) == ctx.clip.key:
        return int(ctx.state[Rollout.OUT_LEN])
    return default_out_len(ctx.clip) if ctx.clip is not None else 1


def _predict_text(value, ctx: Context) -> str | None:
    """The frames to predict, while they are the input's (the page starts a new input afresh)."""
    same = ctx.clip is not None and ctx.state.get(Rollout.OUT_LEN_FOR) == ctx.clip.key
    return text(value, ctx) if same else None


def _predict(text: str, ctx: Context) -> dict:
    if ctx.clip is None:
        raise Ignored(": the input does not fit this model")
    value = number(text, 1, 50, "the rollout predicts 1 .. 50 frames")
    return {Rollout.OUT_LEN: value, Rollout.OUT_LEN_FOR: ctx.clip.key}


def _checkpoints() -> dict[str, object]:
    """The Rollout page's second checkpoints: {label: path} under the roots."""
    roots = load_settings().roots
    return label_paths(find_files(roots, CHECKPOINT_SUFFIXES), roots)


def _rollout_second(text: str, ctx: Context) -> str:
    path = model_path(text)[0].resolve()
    labels = [label for label, p in _checkpoints().items() if p.resolve() == path]
    if not labels:
        raise Ignored(": the Rollout page offers the checkpoints under the checkpoint folders")
    return labels[0]


def _rollout_second_name(label, ctx: Context) -> str | None:
    path = _checkpoints().get(label)
    return None if path is None else model_name(path)


def _towards(text: str, ctx: Context) -> dict:
    if text in DIRECTIONS and text not in (RANGE, ANY):
        return {Search.DIRECTION: text}
    parts = text.split("..")
    if len(parts) != 2 or not all(p.isdigit() and int(p) <= 360 for p in parts):
        raise Ignored(
            " is not a direction: a direction is one of " + ", ".join(se.DIRECTION_NAMES) + ", "
            "or a range of degrees counterclockwise from → such as 315..45 (whole degrees "
            "0 .. 360; from > to wraps through 0)"
        )
    low, high = map(int, parts)
    return {Search.DIRECTION: RANGE, Search.DEGREES_FROM: low, Search.DEGREES_TO: high}


def _towards_text(value, ctx: Context) -> str | None:
    if value == RANGE:
        return f"{ctx.state.get(Search.DEGREES_FROM)}..{ctx.state.get(Search.DEGREES_TO)}"
    return value if value in se.DIRECTION_NAMES else None


def _speeds(text: str, ctx: Context) -> tuple[float, float]:
    what = f"speeds are low..high px/frame, from 0 in steps of {SPEED_STEP:g} (e.g. 1..2.5)"
    try:
        low, high = (float(p) for p in text.split(".."))
    except ValueError:
        raise Ignored(f" is not a range; {what}") from None
    if not low <= high:
        raise Ignored(f": the low end exceeds the high end; {what}")
    if not all(v >= 0 and (v / SPEED_STEP).is_integer() for v in (low, high)):
        raise Ignored(f" is not a setting of the slider: {what}")
    return low, high


def _speeds_text(value, ctx: Context) -> str | None:
    if value is None or tuple(value) == (0.0, ctx.state.get(Search.SPEED_TOP)):
        return None  # the slider's full range filters nothing
    return f"{value[0]:g}..{value[1]:g}"


def _family(text: str, ctx: Context) -> str:
    if test_set.test_motion() != "contexts":
        raise Ignored(
            ": the test set is Moving-MNIST, whose clips have no motion families "
            "(`testset=contexts` names the other)"
        )
    return choice({f: f for f in FAMILIES}, "a motion family")(text, ctx)


LINKED = "link"  # Search.PAGE_FOR while the page number is a link's, not yet checked


def _search_page(text: str, ctx: Context) -> dict:
    page = number(text, 1, 10**9, "pages count from 1")
    return {Search.PAGE: page, Search.PAGE_FOR: LINKED}


def _compare_second(text: str, ctx: Context) -> dict:
    path, label = model_path(text)
    if text in DEMOS:
        return {Compare.SOURCE: DEMO, Compare.DEMO: DEMO_TITLES[text]}
    try:
        loaded = open_checkpoint(path, label=label)
    except (OSError, ValueError) as err:  # CheckpointError is a ValueError
        raise Ignored(f" could not be opened: {err}") from None
    ref = ModelRef(str(loaded.path), loaded.digest, loaded.dataset, label)
    return {Compare.SOURCE: FOLDERS, Compare.OTHER: ref}


def _compare_second_name(source, ctx: Context) -> str | None:
    if source == DEMO:
        names = {title: name for name, title in DEMO_TITLES.items()}
        return names.get(ctx.state.get(Compare.DEMO))
    return model_name(ctx.state.get(Compare.OTHER)) if source == FOLDERS else None


def _compare_clip(ctx: Context):
    last = int(ctx.state.get(Compare.CLIPS, SAMPLE_DEFAULT)) - 1
    return 0, last, f"the pass has test clips 0 .. {last}"


# ------------------------------------------------------------------------------- the table
def _testset(text: str, ctx: Context) -> str:
    value = choice({m: m for m in test_set.TEST_SETS}, "a test set", "test sets")(text, ctx)
    if (problem := test_set.unavailable(ctx.loaded.model.config.image_size, value)) is not None:
        raise Ignored(f" does not fit this model: {problem}")
    return value


# The values of every page, before the input (dashboard/url_state.py applies the test set first:
# a test clip comes from it).
GLOBAL = (
    Param(
        "testset", Input.TEST_MOTION, _testset, default=lambda c: test_set.model_default(c.loaded)
    ),
)


def _digits(text: str, ctx: Context) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",")]
    if not (1 <= len(parts) <= PROBE_MAX_DIGITS and all(p in tuple("0123456789") for p in parts)):
        raise Ignored(
            f" is not a list of 1 .. {PROBE_MAX_DIGITS} digits 0 .. 9 separated by commas (e.g. 3,7)"
        )
    return tuple(map(int, parts))


# A motion probe's values: each sets a field of input_state.Probe, not a session key.
PROBE = (
    Param("digits", "digits", _digits, lambda value, ctx: ",".join(map(str, value))),
    Param("direction", "direction", stepped(PROBE_DIRECTION, "the direction (degrees)")),
    Param("speed", "speed", stepped(PROBE_SPEED, "the speed (pixels per frame)", float)),
    Param("turn", "turn", stepped(PROBE_TURN, "the turn of each further digit (degrees)")),
    Param("future", "future", stepped(PROBE_FUTURE, "the number of future frames")),
    Param("seed", "seed", stepped(PROBE_SEED, "the seed of the family's parameters")),
    Param(
        "family", "family", choice({f: f for f in PROBE_FAMILIES}, "a motion family", "families")
    ),
)


def _phases(key: str, options: Mapping[str, str] = PHASES, parse: Parse | None = None) -> Param:
    return Param(
        "phase", key, parse or choice(options, "a phase of this page", "phases"), named(options)
    )


def _donors(ctx: Context) -> tuple[int, int, str]:
    last = load_settings().test_clips - 1
    return 0, last, f"the test set has clips 0 .. {last}"


PAGES: dict[str, tuple[Param, ...]] = {
    views.ROLLOUT.title: (
        Param("predict", Rollout.OUT_LEN, _predict, _predict_text, _default_out_len),
        Param("frame", Rollout.FRAME, whole(_frames)),
        Param("second", Rollout.COMPARE, _rollout_second, _rollout_second_name, choices.NO_SECOND),
    ),
    views.HEALTH.title: (
        pick("clips", Health.CLIPS, {str(n): n for n in choices.HEALTH_CLIPS}, "a clip count", 256),
    ),
    views.RECALL.title: (
        Param("cell", Recall.CELL, whole(_cells)),
        _phases(Recall.PHASE, RECALL_PHASES, _recall_phase),
        pick("measure", Recall.MEASURE, _swap(choices.MEASURES), "a measure", FIRST),
    ),
    views.ATLAS.title: (
        Param("clips", Atlas.CLIPS, CLIPS),
        Param("slot", Atlas.SLOT, whole(_slots)),
        _phases(Atlas.PHASE),
    ),
    views.SEARCH.title: (
        Param("clips", Search.CLIPS, CLIPS),
        Param("slot", Search.SLOT, whole(_slots)),
        Param("cell", Search.CELL, _grid_part(2, "cells")),
        Param("row", Search.ROW, _grid_part(0, "rows")),
        Param("col", Search.COL, _grid_part(1, "columns")),
        Param("digit", Search.DIGIT, whole(lambda c: (0, 9, "the digits are 0 .. 9"))),
        Param("towards", Search.DIRECTION, _towards, _towards_text),
        Param("speeds", Search.SPEED, _speeds, _speeds_text),
        Param("family", Search.FAMILY, _family),
        pick("sort", Search.SORT, _swap(SORTS), "a sort of the search"),
        Param("page", Search.PAGE, _search_page),
        _phases(Search.PHASE),
    ),
    views.EMBEDDINGS.title: (
        Param("clips", Embeddings.CLIPS, CLIPS),
        pick("space", Embeddings.SPACE, _swap(choices.SPACES), "a space of the map", FIRST),
        _phases(Embeddings.PHASE),
        Param("points", Embeddings.POINTS, stepped(choices.POINTS_RANGE, "the points slider")),
        yes_no("occupied", Embeddings.OCCUPIED, False),
        pick("method", Embeddings.MAP, ("pca umap", choices.MAPS), "a map method"),
        pick("colour", Embeddings.COLOUR, choices.COLOURS, "a colouring of the map"),
        yes_no("slots", Embeddings.SHOW_SLOTS, True),
    ),
    views.INTERVENE.title: (
        pick("where", Intervene.WHERE, ("grid cell", choices.WHERE), "a place to intervene"),
        Param("cell", Intervene.CELL, whole(_cells)),
        pick("mode", Intervene.SOURCE, ("slot clip", choices.INTERVENE_SOURCES), "a mode", FIRST),
        Param("slot", Intervene.SLOT, whole(_slots)),
        pick(
            "strength", Intervene.STRENGTH, ("most alone", choices.STRENGTHS), "a strength", FIRST
        ),
        Param("donor", Intervene.DONOR, whole(_donors), default=1),
        pick("transplant", Intervene.DONOR_WHAT, _swap(choices.DONOR_WHAT), "a part", FIRST),
        Param("step", Intervene.STEP, whole(_intervene_step), default=1),
    ),
    views.COMPARE.title: (
        Param("second", Compare.SOURCE, _compare_second, _compare_second_name),
        Param("clips", Compare.CLIPS, CLIPS),
        _phases(Compare.PHASE),
        Param("testclip", Compare.CLIP, whole(_compare_clip)),
        Param("cell", Compare.CELL, _grid_part(2, "cells")),
        pick(
            "colour",
            Compare.MAP_COLOUR,
            ("direction family", choices.MAP_COLOURS),
            "a colouring",
            FIRST,
        ),
    ),
}
FILTERS = ("slot", "cell", "row", "col", "towards", "speeds", "digit", "family")
# Before a link's search filters: every one it leaves out is "any".
ANY_FILTERS = {
    Search.SLOT: None,
    Search.CELL: None,
    Search.ROW: None,
    Search.COL: None,
    Search.DIGIT: None,
    Search.FAMILY: None,
    Search.DIRECTION: ANY,
}


def new_search(params: Mapping[str, str], state: MutableMapping) -> None:
    """A link that names a search filter names the whole search: the others become "any" (and the
    speed slider its full range, which the page sets)."""
    if any(name in params for name in FILTERS):
        state.update(ANY_FILTERS)
        state.pop(Search.SPEED, None)


def page_from_link(num_pages: int, state: MutableMapping) -> bool:
    """Whether the Search page's number is a link's: the panel keeps it rather than starting the
    new search on page 1, and a page past the end is noted (shown from the next run: the caller
    reruns) and page 1 shown."""
    if state.get(Search.PAGE_FOR) != LINKED:
        return False
    page = state.get(Search.PAGE, 1)
    if page <= max(num_pages, 1):  # page 1 of no match is the default, not worth a note
        return True
    limit = (
        f"this search has pages 1 .. {num_pages}" if num_pages else "this search matches no cell"
    )
    title, notes = state.get(Url.NOTES, (views.SEARCH.title, []))
    state[Url.NOTES] = (title, [*notes, f"`page={page}` is out of range: {limit}"])
    state[Search.PAGE] = 1
    return False


def names() -> set[str]:
    """Every name a link may use (model, dataset and the input's are url_state's)."""
    rows = [*GLOBAL, *PROBE, *(p for page in PAGES.values() for p in page)]
    return {p.name for p in rows}
