"""Where a new user starts: three pages in order and what to look for on each, on the demo the
dashboard opens first. The Model page shows them; the README's "Start here" lists the same
pages in the same order (tests/test_readme.py)."""

from __future__ import annotations

import streamlit as st

from dashboard import views
from lmc.demos import DEMO_SHORT_NAMES, default_demo

STEPS = (
    (
        views.HEALTH,
        "is the memory alive? One verdict per way a memory can be dead (slots never chosen, a "
        "recall that follows the cell instead of the motion, a prediction that ignores it), "
        "each with a link to its evidence.",
    ),
    (
        views.INTERVENE,
        "does the prediction follow the memory? Force one slot in every cell: the frames change "
        "where the model reads its recall, and the page says so when nothing moves.",
    ),
    (
        views.COMPARE,
        "how do two memories differ? The open model beside the other bundled demo: what differs "
        "in sentences with their numbers, then slot usage and recalls side by side.",
    ),
)


def start_here() -> None:
    """The three steps, each a link to its page."""
    demo = DEMO_SHORT_NAMES[default_demo()]
    with st.expander("New here? Start with these three pages", expanded=True):
        st.caption(f"On the demo opened at start ({demo}):")
        for number, (page, what) in enumerate(STEPS, 1):
            st.page_link(page.file, label=f"{number}. {page.title}", icon=page.icon)
            st.caption(what[0].upper() + what[1:])
