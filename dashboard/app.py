"""LMC-Memory dashboard: `streamlit run dashboard/app.py` (or `make dashboard`).

The router: it sets the page up, restores the shared state (dashboard/widget_state.py,
dashboard/startup.py) and the view a link names (dashboard/url_state.py), draws the sidebar, runs
the page chosen in the menu and writes the view back into the URL. Pages are listed
in dashboard/views/__init__.py. `dashboard` imports from the folder above this one: the
repository root, or lmc_cli/apps in an installed wheel (`lmc dashboard` puts it on PYTHONPATH).
"""

import streamlit as st

from dashboard import startup, url_state, widget_state, widgets
from dashboard.page_stop import PageStopped
from dashboard.views import PAGES
from lmc.allocator import keep_freed_memory

keep_freed_memory()  # the server's process keeps freed memory for the next pass (once per process)

st.set_page_config(page_title="LMC-Memory dashboard", page_icon=":material/memory:", layout="wide")

sections: dict[str, list] = {}
for spec in PAGES:
    sections.setdefault(spec.section, []).append(
        st.Page(spec.file, title=spec.title, icon=spec.icon, default=spec.default)
    )
page = st.navigation(sections)

widget_state.keep_widget_values()
# A link's model opens before the start-up defaults (which would open the demo), its input and
# the page's values after them (a cell is checked against the model's grid).
link = url_state.incoming(page.title)
url_state.open_model(link)
startup.ensure_defaults()
url_state.apply(link, page.title)
url_state.show_notes(page.title)
# Written before the page too, so the URL holds the view even when a run is cut short.
url_state.write(page.title)
# The sidebar's Model and Input panel is drawn before the page, so it stays while a long pass
# runs, and drawn again after it, since the page may have just changed the model or the input.
# A page with nothing more to show ends with stop_page(), not st.stop(): after st.stop() no
# Streamlit call gets through, and the panel would vanish.
status = st.sidebar.empty()
widgets.sidebar_status(status.container())
try:
    page.run()
except PageStopped:
    pass
finally:
    widgets.sidebar_status(status.container())
    url_state.write(page.title)
