"""LMC-Memory dashboard: `streamlit run dashboard/app.py` (or `make dashboard`).

The router: it sets the page up, restores the shared state (dashboard/widget_state.py,
dashboard/startup.py), draws the sidebar and runs the page chosen in the menu. Pages are listed
in dashboard/views/__init__.py. `dashboard` is an installed package (pip install -e .).
"""

import streamlit as st

from dashboard import startup, widget_state, widgets
from dashboard.views import available

st.set_page_config(page_title="LMC-Memory dashboard", page_icon=":material/memory:", layout="wide")

sections: dict[str, list] = {}
for spec in available():
    sections.setdefault(spec.section, []).append(
        st.Page(spec.file, title=spec.title, icon=spec.icon, default=spec.default)
    )
page = st.navigation(sections)

widget_state.keep_widget_values()
startup.ensure_defaults()
# The status is drawn after the page, which may have just changed the model or the input; its
# place in the sidebar is taken first, and `finally` fills it even when a page calls st.stop().
status = st.sidebar.container()
try:
    page.run()
finally:
    widgets.sidebar_status(status)
