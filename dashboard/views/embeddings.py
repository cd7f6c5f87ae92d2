"""Embeddings: maps of the recalled motion contexts and of the queries over a sample of clips.

Every (clip, cell) pair is one point: its readout (the motion context recalled from memory) or
its query (what the motion encoder asked for). PCA shows at once; UMAP is computed on request
and stored on disk. Points are coloured by the true motion of the cell, the digit, the top slot,
the entropy or the cell's position, and on the test set with motion contexts by the cell's motion
family; the memory slots sit in the same space as black diamonds.
Lasso or box a group to see its cells; click one point for its nearest slots and contexts.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import memory_widgets as mw
from dashboard import model_state, url_state
from dashboard.choices import COLOURS, FAMILY, POINTS_DEFAULT, POINTS_RANGE, SPACES
from dashboard.downloads import Shelf, embeddings_downloads
from dashboard.fingerprint import fingerprint
from dashboard.keys import Embeddings
from dashboard.memory_widgets.family_figures import FAMILY_COLOURS
from dashboard.page_stop import stop_page
from dashboard.progress_text import progress_text
from dashboard.selection import selected_ids
from dashboard.series import PHASES
from dashboard.trace import trace
from lmc.analysis import projection as pj
from lmc.analysis.dataset_pass import cache_root, selection_hash
from lmc.analysis.families import family_name
from lmc.analysis.recall import normalised_entropy
from lmc.analysis.search import pass_families
from lmc.analysis.slots import cell_box

# What the mouse does on the map -> Plotly's dragmode. Streamlit answers clicks only outside the
# lasso and box modes (there a click clears the selection), so picking one point is a mode of its
# own, in which a drag zooms.
MOUSE = {"click a point": "zoom", "lasso a group": "lasso", "box a group": "select"}
MAX_CARDS = 40
NEIGHBOURS = 6


def _sample_points(total: int, max_points: int, keep: np.ndarray | None) -> np.ndarray:
    """Flat (clip * cells + cell) indices of the points to map: all, or a seeded random subset."""
    pool = np.arange(total) if keep is None else np.flatnonzero(keep)
    if len(pool) <= max_points:
        return pool
    return np.sort(np.random.default_rng(0).choice(pool, max_points, replace=False))


def _vectors(
    sample, phase: str, space: str, index: np.ndarray, temperature: float, addressing: str
) -> tuple[np.ndarray, np.ndarray]:
    """The chosen points and the slot markers in the space the map is made of."""
    arrays = sample.phase(phase)
    flat = arrays[space].reshape(-1, arrays[space].shape[-1])[index]
    if space == "readout":
        return pj.readout_space(flat, sample.slots, temperature, addressing)
    return pj.query_space(flat, sample.slots)


@st.cache_data(max_entries=8, show_spinner="PCA ...")
def _pca(content: str, _points: np.ndarray, _slots: np.ndarray) -> pj.Projection:
    return pj.pca(_points, _slots)


def _umap_path(model_key: str, key: str):
    return cache_root() / f"{model_key[:16]}-{selection_hash({'map': key})[:16]}-umap.npz"


@st.cache_resource(max_entries=8, show_spinner=False)
def _stored_umap(path: str, mtime_ns: int) -> pj.Projection | None:
    return pj.load_projection(path)


def _umap_with_progress(points: np.ndarray, slot_points: np.ndarray) -> pj.Projection:
    """UMAP behind a bar that follows its optimisation epochs, with the time they have left."""
    bar = st.progress(0.0, text=f"UMAP of {len(points):,} points: finding neighbours ...")
    shown = [-1]
    start = [0.0]

    def progress(done: int, total: int) -> None:
        if done == 0:  # the epochs start: time them from here, not from the neighbour search
            start[0] = time.perf_counter()
        percent = 100 * done // total
        if percent != shown[0]:  # one message per percent, not per epoch
            shown[0] = percent
            text = progress_text(done, total, "epochs", time.perf_counter() - start[0])
            bar.progress(done / total, text=f"UMAP of {len(points):,} points: {text}")

    return pj.umap(points, slot_points, progress=progress)


def _pick_points() -> None:
    """on_select of the map: contexts carry their index, slots -1 - their number."""
    st.session_state[Embeddings.SELECTED] = selected_ids(st.session_state.get(Embeddings.CHART))


def _colours(sample, phase: str, index: np.ndarray, by: str) -> tuple[np.ndarray, str, str]:
    """(values per point, colour-bar name, kind) for the chosen colouring."""
    clip, cell = np.divmod(index, sample.num_cells)
    weights = sample.phase(phase)["weights"]
    if by == "true direction":
        return np.degrees(sample.direction[clip, cell]) % 360, "direction (°)", "cyclic"
    if by == "speed":
        return sample.speed[clip, cell], "px/frame", "continuous"
    if by == "digit":
        digits = sample.cell_digit[clip, cell]
        return np.where(digits >= 0, digits.astype(str), "none"), "digit", "category"
    if by == "top slot":
        top = weights[clip, cell].argmax(-1)
        counts = np.bincount(top, minlength=weights.shape[-1])
        frequent = set(np.argsort(-counts)[:9][counts[np.argsort(-counts)[:9]] > 0])
        return np.array([str(t) if t in frequent else "other" for t in top]), "slot", "category"
    if by == "entropy / log S":
        return normalised_entropy(weights[clip, cell]), "entropy / log S", "continuous"
    if by == "occupancy":
        return sample.occupancy[clip, cell], "occupancy", "continuous"
    if by == "KTH action":
        names = np.asarray(sample.action_names)
        return names[sample.actions[clip]], "action", "category"
    if by == FAMILY:
        families = pass_families(sample)[clip, cell]
        return np.array([family_name(f) for f in families]), "family", "category"
    return cell.astype(str), "cell", "category"


def _hover(sample, phase: str, index: np.ndarray) -> list[str]:
    clip, cell = np.divmod(index, sample.num_cells)
    top = sample.phase(phase)["weights"][clip, cell].argmax(-1)
    families = pass_families(sample)
    texts = []
    for i, (c, k) in enumerate(zip(clip, cell, strict=True)):
        text = f"clip {sample.clip_index[c]} · cell {k} · top slot {top[i]}"
        if sample.direction is not None:
            text += f"<br>{mw.motion_text(sample.direction[c, k], sample.speed[c, k])}"
        if sample.cell_digit is not None and sample.cell_digit[c, k] >= 0:
            text += f" · digit {sample.cell_digit[c, k]}"
        if families is not None:
            text += f" · {family_name(families[c, k])}"
        texts.append(text)
    return texts


def _card(sample, flat: int) -> tuple[np.ndarray, str]:
    clip, cell = divmod(int(flat), sample.num_cells)
    box = cell_box(cell, sample.grid, sample.last_frame.shape[1:])
    text = f"clip {sample.clip_index[clip]}, cell {cell}"
    if sample.direction is not None:
        text += f" · {mw.motion_text(sample.direction[clip, cell], sample.speed[clip, cell])}"
    if (families := pass_families(sample)) is not None:
        text += f" · {family_name(families[clip, cell])}"
    return mw.cell_card(sample.last_frame[clip], sample.energy[clip], box, side=96), text


def _selection_panel(
    sample, phase: str, index: np.ndarray, points: np.ndarray, slot_points: np.ndarray
) -> None:
    chosen = st.session_state.get(Embeddings.SELECTED) or []
    chosen = [c for c in chosen if -len(slot_points) <= c < len(index)]
    if not chosen:
        st.caption(
            "Nothing selected. With 'click a point', click a context or a ◆ slot for its nearest "
            "slots and contexts (a drag zooms, a double-click zooms out); with 'lasso a group' or "
            "'box a group', drag around points to see their cells."
        )
        return
    contexts = sorted(c for c in chosen if c >= 0)  # in clip order, not in trace order
    slots = sorted(-1 - c for c in chosen if c < 0)
    weights = sample.phase(phase)["weights"]
    if len(chosen) == 1:
        if slots:
            k = slots[0]
            near, dist = pj.nearest(points, slot_points[k], NEIGHBOURS)
            st.markdown(f"**Slot {k}**: its {NEIGHBOURS} nearest contexts in the full space")
        else:
            i = contexts[0]
            clip, cell = divmod(int(index[i]), sample.num_cells)
            near_slots, slot_dist = pj.nearest(slot_points, points[i], 5)
            w = weights[clip, cell]
            st.markdown(
                f"**Clip {sample.clip_index[clip]}, cell {cell}** — nearest slots in the full space: "
                + ", ".join(
                    f"**{k}** ({d:.3f}, w − 1/S {w[k] - 1 / len(w):+.4f})"
                    for k, d in zip(near_slots, slot_dist, strict=True)
                )
            )
            near, dist = pj.nearest(points, points[i], NEIGHBOURS, exclude=i)
            image, text = _card(sample, index[i])
            st.image(image, caption=f"the point: {text}", width=220)
            st.markdown(f"Its {NEIGHBOURS} nearest other contexts:")
        cards = [_card(sample, index[j]) for j in near]
        st.image(
            [c for c, _ in cards],
            caption=[f"{t} · distance {d:.3f}" for (_, t), d in zip(cards, dist, strict=True)],
            width=180,
        )
        return
    listed = ", ".join(map(str, slots[:12])) + (" ..." if len(slots) > 12 else "")
    st.markdown(
        f"**{len(contexts)} contexts selected**"
        + (f" and {len(slots)} slots ({listed})" if slots else "")
    )
    if not contexts:
        return
    flat = index[np.asarray(contexts)]
    clip, cell = np.divmod(flat, sample.num_cells)
    top = weights[clip, cell].argmax(-1)
    values, counts = np.unique(top, return_counts=True)
    order = np.argsort(-counts)[:5]
    summary = "top slots: " + ", ".join(f"{values[o]} ({counts[o]})" for o in order)
    if (families := pass_families(sample)) is not None:
        kinds, many = np.unique(families[clip, cell], return_counts=True)
        most = np.argsort(-many, kind="stable")
        summary += " · families: " + ", ".join(f"{family_name(kinds[i])} ({many[i]})" for i in most)
    if sample.direction is not None:
        d = sample.direction[clip, cell]
        d = d[np.isfinite(d)]
        if len(d):
            mean = np.arctan2(np.sin(d).mean(), np.cos(d).mean())
            resultant = np.hypot(np.sin(d).mean(), np.cos(d).mean())
            summary += f" · mean direction {mw.direction_text(mean)} (R {resultant:.2f}, {len(d)} with a digit)"
    st.caption(
        summary
        + f" · cells: {', '.join(f'{c}×{n}' for c, n in zip(*np.unique(cell, return_counts=True), strict=True))}"
    )
    shown = flat[:MAX_CARDS]
    cards = [_card(sample, f) for f in shown]
    if len(flat) > MAX_CARDS:
        st.caption(f"The first {MAX_CARDS} of {len(flat)}:")
    st.image([c for c, _ in cards], caption=[t for _, t in cards], width=150)


@url_state.fragment  # its map, colour and slot switches go into the link at once
def _map_panel(
    loaded, sample, phase: str, space: str, index: np.ndarray, total: int, key: str, shelf: Shelf
) -> None:
    trace("embeddings.map")
    config = loaded.model.config
    points, slot_points = _vectors(
        sample, phase, space, index, config.temperature, config.addressing
    )
    umap_path = _umap_path(loaded.key, key)
    maps = ["PCA"] + (["UMAP"] if umap_path.is_file() else [])
    st.session_state.setdefault(Embeddings.MAP, maps[-1])
    if st.session_state.pop(Embeddings.UMAP_DONE, False):
        st.session_state[Embeddings.MAP] = "UMAP"  # set before the radio exists
    # UMAP asked for (by a link, or before the points changed) but not made for these points.
    umap_missing = st.session_state[Embeddings.MAP] == "UMAP" and "UMAP" not in maps
    if st.session_state[Embeddings.MAP] not in maps:
        st.session_state[Embeddings.MAP] = "PCA"
    c1, c2, c3, c4 = st.columns([1, 2, 2, 2])
    c1.radio("map", maps, key=Embeddings.MAP, horizontal=True)
    shown = ("direction", "speed", "digit", "slot", "entropy", "occupancy", "cell")
    if sample.direction is None:
        shown = ("slot", "entropy", "cell")
    colour_options = [COLOURS[name] for name in shown]  # the names a link gives them
    if sample.actions is not None:
        colour_options.insert(0, COLOURS["action"])
    if sample.has_families:
        colour_options.insert(0, FAMILY)
    st.session_state.setdefault(Embeddings.COLOUR, colour_options[0])
    if st.session_state[Embeddings.COLOUR] not in colour_options:
        st.session_state[Embeddings.COLOUR] = colour_options[0]
    c2.selectbox("colour by", colour_options, key=Embeddings.COLOUR)
    if st.session_state.get(Embeddings.DRAG) not in MOUSE:
        st.session_state[Embeddings.DRAG] = next(iter(MOUSE))
    c3.radio("mouse", list(MOUSE), key=Embeddings.DRAG, horizontal=True)
    st.session_state.setdefault(Embeddings.SHOW_SLOTS, True)
    c4.checkbox("show the memory slots", key=Embeddings.SHOW_SLOTS)
    if "UMAP" not in maps:
        if umap_missing:
            st.info(
                f"The UMAP of these {len(points):,} points is not computed yet, so PCA is shown: "
                "Compute UMAP makes it (once; it is kept).",
                icon=":material/info:",
            )
        if st.button(
            "Compute UMAP",
            key=Embeddings.UMAP_BUTTON,
            help="About 5 s for 2,000 points and 20 s for 8,000 on a 2-core CPU, once `make "
            "dashboard` has compiled UMAP's numba code (python -m lmc.warmup); without that the "
            "first UMAP compiles it, 15-30 s more.",
        ):
            pj.save_projection(_umap_with_progress(points, slot_points), umap_path)
            st.session_state[Embeddings.UMAP_DONE] = True
            st.rerun()
    if st.session_state[Embeddings.MAP] == "UMAP":
        proj = _stored_umap(str(umap_path), umap_path.stat().st_mtime_ns)
    else:
        proj = _pca(fingerprint(points, slot_points), points, slot_points)
    colours, colour_name, kind = _colours(sample, phase, index, st.session_state[Embeddings.COLOUR])
    fig = mw.embedding_figure(
        proj.contexts,
        colours,
        colour_name,
        kind,
        _hover(sample, phase, index),
        proj.slots if st.session_state[Embeddings.SHOW_SLOTS] else None,
        dragmode=MOUSE[st.session_state[Embeddings.DRAG]],
        category_colours=FAMILY_COLOURS if colour_name == "family" else None,
    )
    what = "recalled contexts" if space == "readout" else "queries"
    note = f"Showing {len(index):,} of {total:,} {what} ({sample.num_clips} clips × {sample.num_cells} cells"
    note += ", a seeded random subset)" if len(index) < total else ")"
    if proj.explained is not None:
        note += f"; PCA axes explain {proj.explained[0]:.0%} and {proj.explained[1]:.0%} of the variance"
    if st.session_state[Embeddings.SHOW_SLOTS]:
        note += f"; ◆ = the {len(slot_points)} memory slots" + (
            ", each at the readout with the most weight the softmax can give it"
            if space == "readout"
            else " (unit vectors, like the queries)"
        )
        band = mw.view_range(proj.contexts, mw.PIN_MARGIN)
        beyond = int(mw.pin_to_view(proj.slots, *band, proj.contexts.mean(axis=0))[1].sum())
        if beyond:
            note += f"; ◇ = {beyond} of them beyond the contexts, drawn at the border in their direction"
    st.caption(note + ".")
    shelf.things["map"] = (phase, space, index, proj)
    st.plotly_chart(
        shelf.figure("map", fig),
        key=Embeddings.CHART,
        on_select=_pick_points,
        selection_mode=("points", "box", "lasso"),
    )
    _selection_panel(sample, phase, index, points, slot_points)


# --------------------------------------------------------------------------------- the page
trace("embeddings")
st.title("Embeddings")
loaded = model_state.require_model()
model_state.require_memory(loaded, "it recalls no contexts to map")
st.caption(
    "Each point is one cell's recalled motion context, mapped to two dimensions and coloured by "
    "what the cell truly saw. " + mw.DIRECTION_NOTE
)
sample = mw.dataset_sample(loaded, Embeddings.CLIPS, Embeddings.RUN_BUTTON)
if sample is None:
    stop_page()
c1, c2, c3 = st.columns(3)
st.session_state.setdefault(Embeddings.SPACE, list(SPACES)[0])
c1.radio("map of", list(SPACES), key=Embeddings.SPACE, horizontal=True)
phases = list(PHASES) if sample.has_long else list(PHASES)[:1]
st.session_state.setdefault(Embeddings.PHASE, phases[0])
if st.session_state[Embeddings.PHASE] not in phases:
    st.session_state[Embeddings.PHASE] = phases[0]
c2.radio("recall", phases, key=Embeddings.PHASE, horizontal=True)
total = sample.num_clips * sample.num_cells
low, high, step = POINTS_RANGE
st.session_state.setdefault(Embeddings.POINTS, POINTS_DEFAULT)
c3.slider("points at most", low, high, step=step, key=Embeddings.POINTS)
st.session_state.setdefault(Embeddings.OCCUPIED, False)
st.checkbox(
    "only cells a digit passes through",
    key=Embeddings.OCCUPIED,
    disabled=sample.occupancy is None,
)
space = SPACES[st.session_state[Embeddings.SPACE]]
phase = PHASES[st.session_state[Embeddings.PHASE]]
keep = None
if st.session_state[Embeddings.OCCUPIED] and sample.occupancy is not None:
    keep = sample.occupancy.reshape(-1) > 0
index = _sample_points(total, st.session_state[Embeddings.POINTS], keep)
if len(index) < 4:
    st.info("Fewer than 4 points to map: include the empty cells or take more clips.")
    stop_page()
map_key = (
    f"{sample.selection}|{phase}|{space}|{st.session_state[Embeddings.POINTS]}|{keep is not None}"
)
if st.session_state.get(Embeddings.MAP_KEY) != map_key:
    st.session_state[Embeddings.MAP_KEY] = map_key
    st.session_state[Embeddings.SELECTED] = []
shelf = Shelf()
_map_panel(loaded, sample, phase, space, index, total, map_key, shelf)
with st.expander("What the map shows"):
    st.markdown(
        "A readout is a blend w @ M of the memory slots, so it lies in their span: the readouts are "
        "written in an orthonormal basis of the slots' row space (every distance kept) before PCA "
        "or UMAP. Queries address the memory by cosine, so they are mapped as unit vectors. "
        "Nearest slots and contexts are measured in that full space, not on the 2-D map."
    )
    st.dataframe(
        pd.DataFrame(
            {
                "space": ["readouts", "queries"],
                "dimensions": [pj.slot_basis(sample.slots).shape[1], sample.short_query.shape[-1]],
            }
        ),
        hide_index=True,
    )
if "map" in shelf.things:
    embeddings_downloads(loaded, sample, shelf)
