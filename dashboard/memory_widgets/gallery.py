"""A gallery of (clip, cell) pairs of a dataset pass: the Slot atlas's cells that weigh a slot
most and the Search page's matches, drawn and labelled the same way.

`card` and the caption parts are plain (a pass in, a picture or a string out); `show` alone
draws, with Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import streamlit as st

from dashboard.memory_widgets.cells import cell_card, motion_text
from lmc.analysis.families import family_name
from lmc.analysis.search import pass_families
from lmc.analysis.slots import cell_box

COLUMNS = 4


def card(sample, clip: int, cell: int) -> np.ndarray:
    """Clip `clip`'s last input frame with the cell outlined, its patch and its motion energy."""
    box = cell_box(cell, sample.grid, sample.last_frame.shape[1:])
    return cell_card(sample.last_frame[clip], sample.energy[clip], box)


def weight_text(slot: int, weight: float, size: int, rank: int | None = None) -> str:
    """ "slot 3: weight 0.0142 (+0.0042 over 1/S)", and ", rank 2 of 100" when the rank (0 = top)
    is given: a weight means little without the uniform 1/S beside it."""
    text = f"slot {slot}: weight {weight:.4f} ({weight - 1 / size:+.4f} over 1/S)"
    return text if rank is None else f"{text}, rank {rank + 1} of {size}"


def place_text(sample, clip: int, cell: int, clip_digits: bool = False) -> str:
    """ " · clip 12, cell 5 · follows → 0° 2.0 px/frame · digit 3 · orbit-cw": the clip's number
    in the source, the cell, the true motion it follows over the input, the digit over it and,
    on clips with motion contexts, its motion family ("no family" where no digit covers a
    quarter of it); with clip_digits, all the digits of the clip too."""
    text = f" · clip {sample.clip_index[clip]}, cell {cell}"
    if sample.direction is not None:
        direction = sample.direction[clip, cell]
        text += (
            f" · follows {motion_text(direction, sample.speed[clip, cell])}"
            if np.isfinite(direction)
            else " · no digit in the cell"
        )
    if sample.cell_digit is not None and sample.cell_digit[clip, cell] >= 0:
        text += f" · digit {sample.cell_digit[clip, cell]}"
    if (families := pass_families(sample)) is not None:
        text += f" · {family_name(int(families[clip, cell]))}"
    if clip_digits and sample.labels is not None:
        text += f" · clip's digits {', '.join(map(str, sample.labels[clip]))}"
    return text


def show(
    cards: Sequence[np.ndarray],
    captions: Sequence[str],
    below: Callable[[int], None] | None = None,
    columns: int = COLUMNS,
) -> None:
    """The cards in rows of `columns`, each with its caption; below(i), when given, draws under
    card i (inside its column), e.g. a button that opens it elsewhere."""
    for start in range(0, len(cards), columns):
        shown = range(start, min(start + columns, len(cards)))
        for i, col in zip(shown, st.columns(columns), strict=False):  # the last row may be short
            with col:
                st.image(cards[i], caption=captions[i], width="stretch")
                if below is not None:
                    below(i)
