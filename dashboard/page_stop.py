"""Ending a page early without ending the run.

`st.stop()` stops the whole script run: every Streamlit call after it is refused, so the router
(dashboard/app.py) could no longer draw the sidebar's Model and Input panel. A page that has
nothing more to show (no model, a model without memory, a pass not run yet) calls `stop_page()`
at its top level instead; the router catches `PageStopped` and draws the sidebar as on any page.
"""

from __future__ import annotations

from typing import NoReturn


class PageStopped(Exception):
    """Raised by `stop_page`; caught by the router alone."""


def stop_page() -> NoReturn:
    """End the page here; the sidebar and the URL are still written."""
    raise PageStopped
