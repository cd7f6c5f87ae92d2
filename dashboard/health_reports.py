"""A checkpoint's stored health report, where it has one: carried in its metadata, or kept
beside it as NAME.health.json (`lmc.analysis.health_report.health_path`; the bundled demos).
And which page shows the evidence of each finding: the library names questions, not pages."""

from __future__ import annotations

from dashboard import views
from dashboard.model_state import LoadedModel
from dashboard.settings import beside
from dashboard.views import PageSpec
from lmc.analysis.health_report import HealthReport, health_path, read_report

# finding name (lmc.analysis.health_report.VERDICTS) -> (page, what the user finds there). A
# finding without an entry is shown without a link.
EVIDENCE: dict[str, tuple[PageSpec, str]] = {
    "usage": (views.ATLAS, "slot usage and the motion behind each slot"),
    "tuning": (views.ATLAS, "slot usage and the motion behind each slot"),
    "knowledge": (views.EMBEDDINGS, "recalled contexts coloured by true motion"),
    "use": (views.INTERVENE, "predictions with the recall replaced"),
    "reader": (views.INTERVENE, "predictions with the recall replaced"),
    "matching": (views.RECALL, "long against short recall, cell by cell"),
    "alignment": (views.RECALL, "long against short recall, cell by cell"),
    "context": (views.ATLAS, "each slot's motion families, and its name where one dominates"),
}


def kept_report(loaded: LoadedModel) -> HealthReport | None:
    """The report carried in the checkpoint's metadata or kept beside it, or None when there is
    none or it cannot be read (a torn or foreign file is no report: the Memory health page
    measures one again)."""
    carried = loaded.metadata.get("health")
    if isinstance(carried, dict):
        try:
            return HealthReport.from_dict(carried)
        except ValueError:
            pass  # a foreign entry: the file beside the checkpoint may still be a report
    kept = beside(loaded.path, health_path(loaded.path).name)  # no link out of its folder
    if kept is None:
        return None
    try:
        return read_report(kept)
    except (OSError, ValueError):
        return None
