"""LMC-Memory dashboard: `streamlit run dashboard/app.py` (or `make dashboard`).

The router: it sets the page up, restores the shared state (dashboard/state.py), draws the
sidebar and runs the page chosen in the menu. Pages are listed in dashboard/pages/__init__.py.
"""

import sys
from pathlib import Path

# Pages import `dashboard.*`; Streamlit puts only this file's folder on sys.path.
REPO = str(Path(__file__).resolve().parents[1])
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import streamlit as st  # noqa: E402

from dashboard import state, widgets  # noqa: E402
from dashboard.pages import available  # noqa: E402

state.leave_legacy_pages_mode()
st.set_page_config(page_title="LMC-Memory dashboard", page_icon=":material/memory:", layout="wide")

sections: dict[str, list] = {}
for spec in available():
    sections.setdefault(spec.section, []).append(
        st.Page(spec.file, title=spec.title, icon=spec.icon, default=spec.default)
    )
page = st.navigation(sections)

state.keep_widget_values()
state.ensure_defaults()
# The status is drawn after the page, which may have just changed the model or the input; its
# place in the sidebar is taken first, and `finally` fills it even when a page calls st.stop().
status = st.sidebar.container()
try:
    page.run()
finally:
    widgets.sidebar_status(status)
