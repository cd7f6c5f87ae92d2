"""The dashboard's pages, in menu order: app.py shows them all.

To add a page: write `dashboard/views/<name>.py` (a script: it runs top to bottom on each rerun;
see dashboard/model_state.py and dashboard/input_state.py for the shared model and input, and
dashboard/keys.py for its session keys) and add a `PageSpec` here (tests/test_dashboard_app.py
checks that every entry's file exists).

The folder is not called `pages/`: beside app.py that name would put Streamlit in its legacy
multipage mode, which runs a page's file without the router.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to dashboard/, the folder of app.py: st.Page, st.page_link, switch_page
    title: str
    icon: str  # a Material Symbols name, e.g. ":material/memory:"
    section: str
    default: bool = False


MODEL = PageSpec("views/model.py", "Model", ":material/memory:", "Prediction", default=True)
INPUT = PageSpec("views/input.py", "Input", ":material/movie:", "Prediction")
ROLLOUT = PageSpec("views/rollout.py", "Rollout", ":material/play_circle:", "Prediction")
HEALTH = PageSpec("views/health.py", "Memory health", ":material/monitor_heart:", "Memory")
RECALL = PageSpec("views/recall.py", "Recall", ":material/psychology:", "Memory")
ATLAS = PageSpec("views/atlas.py", "Slot atlas", ":material/grid_view:", "Memory")
SEARCH = PageSpec("views/search.py", "Search", ":material/search:", "Memory")
EMBEDDINGS = PageSpec("views/embeddings.py", "Embeddings", ":material/scatter_plot:", "Memory")
INTERVENE = PageSpec("views/intervene.py", "Intervene", ":material/tune:", "Memory")
COMPARE = PageSpec("views/compare.py", "Compare memories", ":material/compare:", "Memory")
PAGES: list[PageSpec] = [
    MODEL,
    INPUT,
    ROLLOUT,
    HEALTH,
    RECALL,
    ATLAS,
    SEARCH,
    EMBEDDINGS,
    INTERVENE,
    COMPARE,
]
