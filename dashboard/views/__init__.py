"""The dashboard's pages, in menu order. app.py shows every entry whose file exists.

To add a page: write `dashboard/pages/<name>.py` (a script: it runs top to bottom on each rerun,
see dashboard/state.py for the shared model and input) and add a `PageSpec` here. An entry whose
file is missing is left out of the menu, so pages can land one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to dashboard/, the folder of app.py
    title: str
    icon: str  # a Material Symbols name, e.g. ":material/memory:"
    section: str
    default: bool = False


PAGES: list[PageSpec] = [
    PageSpec("pages/model.py", "Model", ":material/memory:", "Prediction", default=True),
    PageSpec("pages/input.py", "Input", ":material/movie:", "Prediction"),
    PageSpec("pages/rollout.py", "Rollout", ":material/play_circle:", "Prediction"),
    PageSpec("pages/recall.py", "Recall", ":material/psychology:", "Memory"),
    PageSpec("pages/atlas.py", "Slot atlas", ":material/grid_view:", "Memory"),
    PageSpec("pages/embeddings.py", "Embeddings", ":material/scatter_plot:", "Memory"),
    PageSpec("pages/intervene.py", "Intervene", ":material/tune:", "Memory"),
]


def available(pages: list[PageSpec] = PAGES, root: Path = DASHBOARD) -> list[PageSpec]:
    """The entries whose page file exists, in order."""
    return [page for page in pages if (root / page.file).is_file()]
